"""The booth's state on disk, so that a restarted agent resumes where the participant was.

One small JSON file, replaced atomically (write a temporary file in the same directory,
fsync it, rename it over the old one, fsync the directory): a power cut leaves either the
old state or the new one, never half a file. The branch server stays the source of truth;
this only spares the participant a blank welcome screen while the agent reconnects.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path

from booth.errors import BoothError
from booth.state import Booth

log = logging.getLogger(__name__)

STATE_FILE = "booth-state.json"


class StateFileError(BoothError):
    """The state file cannot be written."""


def save(path: Path, booth: Booth) -> None:
    data = json.dumps(booth.to_json(), sort_keys=True, indent=1).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".booth-state-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise StateFileError(f"cannot write booth state {path}: {exc.strerror or exc}") from None


def load(path: Path) -> Booth | None:
    """The saved state, or ``None`` when there is none or it is unreadable (logged: the
    booth then starts empty, and the server tells it what is still going on)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read booth state %s: %s; starting empty", path, exc)
        return None
    try:
        return Booth.from_json(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        log.warning("booth state %s is damaged (%s); starting empty", path, exc)
        return None


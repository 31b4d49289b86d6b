"""Named points at which a test may have a head-office process kill itself (SIGKILL), as in
signaling/crashpoint.py: the tests start a real ``bilik headoffice`` with
``BILIK_CRASH_AT=<name>`` and check that another process finishes the work."""

from __future__ import annotations

import os
import signal

ENV = "BILIK_CRASH_AT"
_ARMED = os.environ.get(ENV, "")

POINTS = (
    "headoffice.chunk_written",  # a chunk is fsynced, its offset not yet committed
    "headoffice.chunk_committed",  # the offset is committed, the 200 not yet sent
    "headoffice.moved",  # the verified bundle is in the blob directory, its row not committed
)


def reached(name: str) -> None:
    if _ARMED and name == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)

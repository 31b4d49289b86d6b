"""Named points at which a test may have the branch server kill itself (SIGKILL).

Each durable operation has a window between writing something and acknowledging it
(the bytes of an upload fsynced, the reply not yet sent; a release committed, the ``ok``
sent). The crash tests start a real ``bilik server`` with ``BILIK_CRASH_AT=<name>`` and
check that after the restart every acknowledgement is honoured and the operation can go
on. Nothing sets the variable in production; unset, :func:`reached` is one comparison.
"""

from __future__ import annotations

import os
import signal

ENV = "BILIK_CRASH_AT"
_ARMED = os.environ.get(ENV, "")

# Every point, so that a test can go through all of them (tests/signaling/test_crash.py).
POINTS = (
    "release.committed",  # the release is committed, the ok not yet sent
    "release.acknowledged",  # the ok to a release was sent
    "upload.part_created",  # an upload's empty .part file exists, its row does not
    "upload.opened",  # the upload's row is committed, the 201 not yet sent
    "upload.chunk_written",  # a chunk is fsynced, its 200 not yet sent
    "upload.moved",  # the finished file is in place, its document row not yet committed
    "upload.recorded",  # the document row is committed, the 201 not yet sent
    "queue.committed",  # a queue event and its journal row are committed, nobody told yet
    "queue.answered",  # the device that asked (a ticket, a claim...) was answered
)


def reached(name: str) -> None:
    """Die here, as ``kill -9`` would, if the test armed this point."""
    if _ARMED and name == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)

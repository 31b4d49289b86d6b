"""OpenCV on the calling thread only, in the processes that carry live video.

OpenCV runs its functions over a pool of worker threads (one less than the cores) which,
after each job, spin on ``sched_yield()`` for a while before they sleep (its "active
wait"). The hub and the booth call OpenCV 15-30 times a second on small pictures (a
camera frame, a tile, a timecode), so their worker never got to sleep: on the 2-core hub
benchmark, gdb found each booth process's OpenCV worker in ``sched_yield`` and the
kernel counted about 1500 preemptions a second of it, slices taken from the threads
that carry the video. Pictures of 640x480 gain nothing from two threads, and the
document checks (12 MP at most) run off the call's path anyway.

The setting goes through OpenCV's ``OPENCV_FOR_THREADS_NUM``, read when the pool is first
set up, so no pool is built at all. ``cv2.setNumThreads(1)`` on a pool already built is
the fallback only: in the booth agent, whose screen is an OpenCV (Qt) window, it made the
process end in ``std::terminate`` at exit in half the runs of ``tests/booth/test_window.py``.
"""

from __future__ import annotations

import os

THREADS_VARIABLE = "OPENCV_FOR_THREADS_NUM"


def single_threaded() -> None:
    """No OpenCV worker threads in this process (call before OpenCV's first real work)."""
    os.environ[THREADS_VARIABLE] = "1"
    import cv2  # imported here: the server and kiosk roles never load OpenCV

    if cv2.getNumThreads() != 1:  # the pool was set up before the variable: reconfigure
        cv2.setNumThreads(1)

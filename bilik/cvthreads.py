"""OpenCV on the calling thread only, in the processes that carry live video.

OpenCV runs its functions over a pool of worker threads (one less than the cores) which,
after each job, spin on ``sched_yield()`` for a while before they sleep (its "active
wait"). The hub and the booth call OpenCV 15-30 times a second on small pictures (a
camera frame, a tile, a timecode), so their worker never got to sleep: on the 2-core hub
benchmark, gdb found each booth process's OpenCV worker in ``sched_yield`` and the
kernel counted about 1500 preemptions a second of it, slices taken from the threads
that carry the video. Pictures of 640x480 gain nothing from two threads, and the
document checks (12 MP at most) run off the call's path anyway.

Used by the hub and the simulated booths of the benchmark, not yet by the booth agent: in
the agent, whose screen is an OpenCV (Qt) window, ``setNumThreads(1)`` made the process
end in ``std::terminate`` at exit in half the runs of ``tests/booth/test_window.py``.
"""

from __future__ import annotations


def single_threaded() -> None:
    """No OpenCV worker threads from now on in this process."""
    import cv2  # imported here: the server and kiosk roles never load OpenCV

    cv2.setNumThreads(1)

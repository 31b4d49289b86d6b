"""A recording writer in a process of its own, for the crash test: it writes a session's
four tracks from real VP8 and Opus packets until it is killed, and prints the media time
it has handed to the muxer after every frame (``written <ms>``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from officer.recording import RecordingInfo, RecordingWriter, Track
from tests.officer.recordmedia import Packets


def main(path: Path) -> None:
    writer = RecordingWriter(path, RecordingInfo("booth-01", "siti", "A001", "p-1",
                                                 time.time()))
    for ms, track, data, keyframe in Packets().forever():
        writer.write(track, data, ms, keyframe)
        if track is Track.BOOTH_VIDEO:
            print(f"written {ms}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))

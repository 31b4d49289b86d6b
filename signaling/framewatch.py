"""Where a client's WebSocket byte stream is between frames (RFC 6455, section 5.2).

The branch server bounds the time a message may take to arrive once it has begun
(:data:`signaling.limits.FRAME_ASSEMBLY_S`): a client trickling a frame one byte at a time,
or a fragmented message one fragment at a time, keeps the socket's heartbeat alive (every
byte counts as life) while holding the server's buffers forever. aiohttp's reader does not
say whether it is in the middle of a frame, so :class:`FrameWatch` follows the frame
boundaries itself: it reads only the headers and skips payloads by their length, so it
costs a few operations per chunk received. A pure core: bytes and times in, a verdict out.
"""

from __future__ import annotations

import enum

OP_CONTINUATION = 0x0
OP_CLOSE = 0x8


class Part(enum.Enum):
    HEADER = "header"  # reading a frame's 2-14 header bytes
    PAYLOAD = "payload"  # skipping a frame's payload


class FrameWatch:
    """Follows frames; :attr:`busy_since` is when the message in progress began, or None."""

    def __init__(self) -> None:
        self.part = Part.HEADER
        self._header = bytearray()
        self._payload_left = 0
        self._fin = True
        self._opcode = 0
        self._in_message = False  # a fragmented data message awaits its final fragment
        self.busy_since: float | None = None
        self.closed = False  # the client sent a close frame: nothing more to follow

    def feed(self, data: bytes, now: float) -> None:
        """Account for ``data`` (any split of the stream) received at ``now``."""
        view = memoryview(data)
        while view and not self.closed:
            if self.busy_since is None:
                self.busy_since = now
            if self.part is Part.HEADER:
                need = _header_length(self._header) - len(self._header)
                self._header += view[:need]
                view = view[need:]
                if len(self._header) == _header_length(self._header):
                    self._start_payload()
            else:
                skip = min(self._payload_left, len(view))
                self._payload_left -= skip
                view = view[skip:]
                if self._payload_left == 0:
                    self._end_frame()

    def overdue(self, now: float, limit_s: float) -> bool:
        """Whether a message has been in progress for longer than ``limit_s``."""
        return self.busy_since is not None and now - self.busy_since > limit_s

    def _start_payload(self) -> None:
        header = self._header
        self._fin = bool(header[0] & 0x80)
        self._opcode = header[0] & 0x0F
        length = header[1] & 0x7F
        if length == 126:
            length = int.from_bytes(header[2:4], "big")
        elif length == 127:
            length = int.from_bytes(header[2:10], "big")
        self._header = bytearray()
        self._payload_left = length
        self.part = Part.PAYLOAD
        if length == 0:
            self._end_frame()

    def _end_frame(self) -> None:
        self.part = Part.HEADER
        if self._opcode == OP_CLOSE:
            self.closed = True
        if self._opcode < 0x8:  # a data frame or a continuation: control frames interleave
            self._in_message = not self._fin
        if not self._in_message:
            self.busy_since = None


def _header_length(header: bytearray) -> int:
    """How long the header being read is, from what of it has arrived (2 until known)."""
    if len(header) < 2:
        return 2
    length = header[1] & 0x7F
    extended = 2 if length == 126 else 8 if length == 127 else 0
    masked = 4 if header[1] & 0x80 else 0
    return 2 + extended + masked

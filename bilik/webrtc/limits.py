"""Named limits and timeouts of the shared WebRTC plumbing."""

from __future__ import annotations

# Video format of a booth camera stream.
VIDEO_FPS = 15
VIDEO_WIDTH = 640
VIDEO_HEIGHT = 480
VIDEO_CODECS = ("video/VP8", "video/rtx")  # offered, in this order; VP8 only

# Frame meter.
METER_WINDOW_S = 2.0  # frame rate is averaged over this window
METER_LATENCY_SAMPLES = 2048  # latest samples kept for percentiles
MAX_PLAUSIBLE_LATENCY_MS = 60_000  # a larger capture-to-decode gap is a wrong clock, not latency

# Replayed (pre-encoded) video: frame k of the loop carries timecode k * frame period and
# is sent at the wall-clock instant that is k * frame period into a REPLAY_LOOP_MS slot,
# so the receiver can tell the capture (send) time from the timecode alone.
REPLAY_LOOP_MS = 8_000

# Event-loop watchdog.
LOOP_LAG_INTERVAL_S = 0.25  # how often the loop is probed
LOOP_LAG_WARN_S = 0.05  # lag above this is logged and counted: frames are 67 ms apart
LOOP_LAG_LOG_EVERY_S = 10.0  # at most one warning log line per this period

# Peer connection.
PEER_CLOSE_TIMEOUT_S = 5.0  # RTCPeerConnection.close() that takes longer is abandoned
# Kernel receive buffer asked for each ICE socket (bilik.webrtc.sockets). Linux books
# double this (512 KiB): about half a second of a hub's six booths (~460 packets a second,
# ~2.3 KiB booked each), against a fifth of a second by default. Not more: a process
# starved for longer would otherwise read seconds-old packets (measured: a 2 MiB buffer
# turned an overloaded hub's losses into 5-8 s of latency); past half a second, losing
# packets and recovering at a keyframe is the better deal for a live picture.
RECEIVE_BUFFER_BYTES = 256 * 1024

# Decoder backlog (bilik.webrtc.backlog): encoded video frames waiting for the decoder
# thread. More than this many (half a second at 15 fps) means the machine cannot decode
# in time; the backlog is dropped and decoding restarts at a keyframe, so a starved
# receiver shows the present a little jerkily rather than the past smoothly.
MAX_DECODE_BACKLOG_FRAMES = 8
KEYFRAME_ASK_EVERY_S = 0.5  # while waiting for that keyframe, ask the sender this often

# Jitter buffer (bilik.webrtc.jitter): a broken frame (a packet missing) is given up on once
# packets arrive this much later in RTP time (90 kHz video clock): 300 ms, many round trips
# of NACK on a LAN; while waiting for the keyframe that follows, ask again this often.
MAX_FRAME_WAIT_TICKS = 90_000 * 300 // 1000
KEYFRAME_ASK_TICKS = 90_000 // 2

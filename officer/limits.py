"""Every limit and timeout of the officer hub, named, in one place."""

from __future__ import annotations

MAX_BOOTHS = 6  # one officer serves at most six booths at once
MEDIA_OFFLINE_TIMEOUT_S = 5.0  # a booth whose video stopped this long is offline: slot freed
LOST_GRACE_S = 15.0  # a lost booth keeps its slot this long (the server's resume window)
NEGOTIATION_TIMEOUT_S = 20.0  # a paired booth whose call is not up by then is dropped
REPORT_INTERVAL_S = 5.0  # per-booth frame rate and latency are logged this often
WATCH_INTERVAL_S = 0.5  # how often peers are checked against the timeouts above
CONNECT_TIMEOUT_S = 30.0  # first connection to the branch server at start
METRICS_PORT = 8780
LATENCY_BUCKETS_S = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
LOOP_LAG_SAMPLES = 4800  # latest event-loop lag probes kept (20 minutes at 4 a second)
LOOP_LAG_BUCKETS_S = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)

# Return media (officer -> booths), encoded once per stream and shared (returnmedia.py).
RETURN_VIDEO_FPS = 15
RETURN_VIDEO_BITRATE = 500_000  # the officer's camera, 640x480
CARD_FPS = 2.0  # the "please wait" card is still; a switch gets its keyframe at once, not at 2 fps
CARD_BITRATE = 150_000
RETURN_AUDIO_BITRATE = 32_000
# Booths out of focus get one 20 ms frame of silence this often, not fifty a second: what
# Opus DTX does in a browser's call during silence. Saves the hub ~250 packets a second
# (RTP, SRTP, a send each) with five booths waiting; a switch still starts at once.
SILENCE_PERIOD_S = 0.4
RETURN_QUEUE_PACKETS = 8  # per booth; beyond this the sender is behind: restart at a keyframe
KEYFRAME_REQUEST_MIN_INTERVAL_S = 0.3  # per booth: PLI storms must not flood the shared stream
ENCODER_MAX_BEHIND_FRAMES = 3  # an encoder further behind than this skips ahead
THREAD_JOIN_TIMEOUT_S = 3.0

# Voice activity (voice.py).
VAD_THRESHOLD_DB = -45.0  # dBFS: quiet speech near a booth microphone is around -40..-25
VAD_HANGOVER_S = 0.8
VAD_MIN_VOICED_FRAMES = 3  # 60 ms of sound before the mark lights (clicks do not count)
# A booth whose packets carried an audio level (RFC 6464) within this long is judged from
# those levels and, out of focus, not decoded; otherwise its audio is decoded for the mark.
AUDIO_LEVEL_FRESH_S = 1.0

# Console (console.py, console/).
CONSOLE_IDLE_S = 900.0  # an officer who left the desk is signed out after this (setting)
ACTIVITY_REPORT_S = 30.0  # the page reports the officer's input at most this often
STATE_PUSH_S = 0.5  # console state is pushed this often (and on every change)
CONSOLE_WS_HEARTBEAT_S = 10.0
REQUEST_TIMEOUT_S = 10.0  # a request to the branch server (sign-in, decision...)
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024  # a document fetched through the hub
SWITCH_SAMPLES = 200  # focus-switch times kept for /healthz
ALERTS_KEPT = 50  # SLA alerts kept for the console
QUEUE_POLL_S = 5.0  # how often the branch queue's size is read for the console

# Forwarding (forward.py, consolemedia.py): the officer's browser is the officer's media.
FORWARD_STALE_S = 1.0  # no frame from the officer's camera this long: the booth gets the card
FORWARD_MAX_DRIFT_S = 1.0  # a forwarded source further than this from the wall clock: re-anchor
FORWARD_KEYFRAME_MIN_INTERVAL_S = 0.1  # PLIs towards one forwarded source (browser, booth)
FORWARD_QUEUE_PACKETS = 16  # per console track; beyond this the sender is behind
CONSOLE_MEDIA_SLOTS = MAX_BOOTHS  # booth videos the console receives (one per seat)
OFFICER_VIDEO_MAX_BITRATE = 600_000  # the officer's camera as the browser sends it (a booth
# link carries it beside the booth's own 500 kbps picture)
OFFICER_VIDEO_MAX_FPS = 15
OFFICER_VIDEO_WIDTH = 640
OFFICER_VIDEO_HEIGHT = 480
CONSOLE_SDP_MAX_CHARS = 64 * 1024  # an offer from the console page

# Recording of the session (recording.py, recordings.py).
RECORDING_CLUSTER_MS = 1000  # a cluster is closed and flushed this often: what a crash loses
RECORDING_CLUSTER_BYTES = 2 * 1024 * 1024  # ... or when it holds this much
RECORDING_INTERLEAVE_S = 0.5  # a quiet track holds the others back at most this long
RECORDING_HEADER_WAIT_MS = 3000  # media held for both pictures' sizes before the header
RECORDING_NOMINAL_FPS = 15  # only a hint in the header; every frame carries its own time
RECORDING_DEFAULT_SIZE = (640, 480)  # a picture that never came: a size for the header
RECORDING_QUEUE_PACKETS = 2000  # per session, about 15 s of all four tracks
RECORDINGS_LISTED = 50  # recent recordings the console lists
RECORDING_HTTP_TIMEOUT_S = 120.0  # one request of the upload (a chunk of 4 MB on a slow LAN)
RECORDING_CHUNK_BYTES = 4 * 1024 * 1024  # one PUT of the upload
RECORDING_RETRY_MIN_S = 1.0  # upload retries: capped backoff with jitter
RECORDING_RETRY_MAX_S = 60.0

# The decision form's claim data (NIK, name, bank, account): fields accepted from the page
CLAIM_FIELDS_MAX = 8

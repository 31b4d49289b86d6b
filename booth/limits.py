"""Every limit and timeout of the booth agent, named, in one place."""

from __future__ import annotations

CONNECT_TIMEOUT_S = 30.0  # the first connection to the branch server, before giving up at start
NEGOTIATION_TIMEOUT_S = 20.0  # an offer not answered and connected by then is made again
REREQUEST_DELAY_S = 1.0  # after a release or a failed call, ask for service again after this
SIGNALING_REQUEST_TIMEOUT_S = 10.0
REPLAY_MIN_FRAMES = 2
REPLAY_MAX_BYTES = 64 * 1024 * 1024  # a replay loop larger than this is refused
REPLAY_BITRATE = 500_000  # the full replay loop: aiortc's own starting VP8 bitrate
# A keyframe this often in both replay loops: a receiver that lost a frame recovers, and a
# change of focus moves to the other loop, at the next one (PLI cannot force a keyframe
# into a recording). 8 frames (533 ms) at 15 fps.
REPLAY_KEYFRAME_EVERY_S = 0.5

# The booth screen
SCREEN_WIDTH = 1280
SCREEN_HEIGHT = 720
SCREEN_FPS = 10.0  # redraws a second: text and two small videos, no need for more
WINDOW_EVENTS_MS = 20  # the window's thread runs the GUI's events and reads keys this often
WINDOW_CLOSE_TIMEOUT_S = 5.0

# The participant's flow
GOODBYE_S = 20.0  # the goodbye screen (reference, decision) stays this long, then idle
CLAIM_TIMEOUT_S = 10.0  # a claim not answered by then is shown as "try again"
CLAIM_REPEAT_S = 3.0  # the same code read again within this is the same scan, not a new one
HEALTH_REPORT_S = 60.0  # periodic Status with the health of every device
SELFTEST_TIMEOUT_S = 5.0  # each device's check at start

# Presence (face detection on the booth camera)
PRESENCE_CHECK_S = 0.5  # look for a face this often (2 Hz is plenty, and cheap)
# The frame is shrunk to this width (grey) before the cascades: 240 finds the same faces
# as 320 in the tests' booth frames at about 60 % of the cost (bench/presence.py).
PRESENCE_DETECT_WIDTH = 240
# Smallest face that counts, as a fraction of the frame's height: 25 px of the 180-row
# detection picture of a 4:3 camera (the cascades' own window is 24). A participant seated
# 0.5-1 m from the booth camera fills roughly 20-30 % of the height; someone passing a
# couple of metres behind about 10 %. Generous on purpose: a false "away" nags a
# participant who is there, a missed passer-by costs nothing.
FACE_MIN_FRACTION = 0.14
AWAY_AFTER_S = 20.0  # no face for this long: the participant stepped away
BACK_AFTER_S = 1.0  # a face for this long: the participant is back
# The same, as consecutive checked frames (what the pure tracker counts).
AWAY_AFTER_FRAMES = round(AWAY_AFTER_S / PRESENCE_CHECK_S)
BACK_AFTER_FRAMES = round(BACK_AFTER_S / PRESENCE_CHECK_S)

# Documents
DOC_CHUNK_BYTES = 256 * 1024  # upload chunk; a lost connection costs at most one chunk
DOC_JPEG_QUALITY = 90
DOC_UPLOAD_RETRY_MIN_S = 0.5
DOC_UPLOAD_RETRY_MAX_S = 15.0  # capped backoff (with jitter) while the server is unreachable
DOC_HTTP_TIMEOUT_S = 30.0
SCAN_FPS = 10.0  # document-camera frames judged a second
OCR_ATTEMPTS = 3  # a document whose NIK cannot be read is asked for again this many times,
# then sent anyway: the officer reads it (a worn card must not lock the participant out)
OCR_NOTICE_S = 3.0  # the reason it is asked again stays on the screen at least this long
# Ticket QR codes read by the document camera on the welcome screen: a frame decoded this
# often (zbar takes tens of ms on 720p: 2 Hz is quick enough for a hand, cheap for the CPU)
TICKET_CAMERA_CHECK_S = 0.5
TICKET_CODE_GONE_S = 2.0  # a code out of view this long counts as new when shown again

# Media
# The camera's bitrate and size while the officer attends another booth (or nobody yet):
# a third of aiortc's usual 500 kbps, and the picture scaled to fit 320x240 (the console's
# tile; a quarter of the pixels to encode and decode). The capture-time code of the test
# pattern reads on every frame at that size and rate (tests/booth/test_focus.py checks it
# at the hub; hardware/testpattern.py reads the pattern scaled by 0.5 to 1).
UNFOCUSED_VIDEO_BITRATE = 150_000
UNFOCUSED_VIDEO_SIZE = (320, 240)
RECEIVED_QUEUE_FRAMES = 2  # officer frames waiting for the screen; older ones are dropped
# A real printer answers DLE EOT at once; the booth still waits longer than the driver's
# default, because a false "not printed" takes the booth out of service.
PRINTER_STATUS_TIMEOUT_S = 2.0

# The loudspeaker (the officer's voice)
SPEAKER_RATE = 48_000  # what aiortc's Opus decoder gives; played as mono s16
# Received blocks (20 ms each from Opus) waiting for the output; a slow device loses the
# oldest, never grows memory. 200 ms: a few scheduling hiccups of the PortAudio thread.
SPEAKER_BUFFER_BLOCKS = 10
SPEAKER_PRIME_BLOCKS = 2  # after running dry, wait for this many blocks before playing again
SPEAKER_CLOSE_TIMEOUT_S = 5.0  # the output's thread is joined this long on close
# Instructions read out (booth/narration.py): the officer's voice always has priority.
OFFICER_VOICE_DBFS = -45.0  # a received block louder than this is the officer speaking
OFFICER_VOICE_HOLD_S = 0.8  # narration waits until the officer has been quiet this long
NARRATION_BLOCK_S = 0.02  # the recording output adds narration in blocks of this length

# The hand button (booth/hand_button.py)
HAND_BUTTON_RETRY_MIN_S = 1.0  # a missing or failed button is reopened after this, doubling
HAND_BUTTON_RETRY_MAX_S = 30.0  # ...up to this
HAND_LAMP_SYNC_S = 0.5  # the lamp follows the hand (raised, or lowered by the officer) this fast
# A one-off notice on the welcome screen (a refused code, "checked in, your number is...")
# goes after this, so that the next participant does not read the last one's.
NOTICE_SHOWN_S = 90.0

# Consent to the recording (consent.py).
CONSENT_ANSWER_SHOWN_S = 6.0  # the participant's answer stays on the screen this long

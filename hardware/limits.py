"""Named limits and timeouts of the hardware layer (registry, displays, scanners, CLI).

Every number a device driver waits for or bounds by lives here, so that a technician
reading a timeout message can find where it comes from.
"""

from __future__ import annotations

# --- Registry and hot-plug -----------------------------------------------------------------
PORT_POLL_INTERVAL_S = 2.0  # how often the port listing is re-read to notice hot-plug
REOPEN_BACKOFF_BASE_S = 0.5  # first delay before reopening a lost device
REOPEN_BACKOFF_FACTOR = 2.0  # each failed reopen multiplies the delay by this
REOPEN_BACKOFF_CAP_S = 30.0  # the delay never grows beyond this
REOPEN_JITTER = 0.5  # fraction of the delay that is randomised (0.5: 50 %..100 % of it)

# --- Serial ports -----------------------------------------------------------------------------
SERIAL_DEFAULT_BAUD = 9600  # pole/LED displays and scanners ship at 9600 8N1
SERIAL_WRITE_TIMEOUT_S = 2.0  # a display that takes no data for this long is "not answering"
SERIAL_READ_TIMEOUT_S = 0.2  # granularity of blocking reads in threads

# --- Displays ---------------------------------------------------------------------------------
POLE_COLUMNS = 20
POLE_ROWS = 2
LED_MAX_WIDTH = 64  # widest LED counter display line we accept in configuration
LED_MAX_FRAME_BYTES = 256  # an emulator drops a frame longer than this (garbage on the bus)
EMULATOR_MAX_GARBAGE_BYTES = 4096  # an emulator's parse buffer never grows beyond this

# --- Scanner ----------------------------------------------------------------------------------
SCANNER_MAX_CODE_BYTES = 4096  # longest code (a dense QR) plus margin; longer is garbage
SCANNER_QUEUE_SIZE = 64  # codes waiting for the application; the oldest is dropped beyond

# --- TV page ----------------------------------------------------------------------------------
TV_MAX_CALLS = 8  # calls the TV page shows (newest first)
TV_HEARTBEAT_S = 15.0  # WebSocket ping interval towards TV browsers
TV_SEND_TIMEOUT_S = 5.0  # a TV that cannot take an update in this time is dropped
TV_ANNOUNCEMENTS = 8  # recent announcements the TV page is told of (it plays the new ones)

# --- Speech (calls spoken aloud) -------------------------------------------------------------
SPEECH_WPM = 140  # espeak-ng words a minute: slower than its 175 default, for elderly ears
SPEECH_WPM_MIN, SPEECH_WPM_MAX = 80, 260
SPEECH_TIMEOUT_S = 10.0  # espeak-ng makes a sentence in tens of milliseconds; beyond: broken
SPEECH_MAX_CHARS = 400  # an announcement is one sentence
CHIME_TONES_HZ = (659.25, 523.25)  # E5 then C5: the "ding-dong" heard in stations
CHIME_TONE_S = 0.6  # each tone
CHIME_LEVEL = 0.5  # of full scale: below the voice, never startling
CHIME_PAUSE_S = 0.3  # silence between the chime and the words

# --- CLI --------------------------------------------------------------------------------------
SELFTEST_SCAN_TIMEOUT_S = 30.0  # how long `bilik hw selftest` waits for a code to be scanned
SELFTEST_PATTERN_HOLD_S = 1.0  # how long each display test pattern stays up
EMULATOR_SHUTDOWN_S = 2.0  # how long an emulator thread may take to stop

# --- Hand button (hardware/button.py) ---------------------------------------------------------
BUTTON_MAX_LINE = 64  # longest line the button's protocol has, with margin
BUTTON_QUEUE = 32  # events waiting for the application; beyond this the oldest go
BUTTON_IDENT_TIMEOUT_S = 2.0  # a button answers "?" at once; beyond this it is not one
BUTTON_CLOSE_TIMEOUT_S = 2.0  # the reader thread is joined this long on close
BUTTON_BLINK_S = 0.5  # the self-test lights the lamp this long

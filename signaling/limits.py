"""Every limit and timeout of the signaling package, named, in one place."""

from __future__ import annotations

# Wire protocol
MAX_FRAME_BYTES = 256 * 1024  # larger WebSocket frames are refused with close code 1009
MAX_SDP_BYTES = 64 * 1024
MAX_TEXT_CHARS = 512  # any other string field
MAX_ID_CHARS = 64
MAX_HEALTH_ENTRIES = 32
MAX_LIST_ITEMS = 64
MAX_HUB_SLOTS = 6  # one officer serves at most six booths

# Connections
HELLO_TIMEOUT_S = 10.0  # a connection must authenticate within this time, pings or not
HEADER_READ_S = 10.0  # an HTTP request's headers must arrive within this, once begun
BODY_READ_S = 30.0  # an HTTP request body (JSON, an import, one upload chunk) within this
FRAME_ASSEMBLY_S = 30.0  # a WebSocket message, once begun, must be complete within this
MAX_CONNECTIONS_PER_ADDRESS = 64  # open TCP connections from one client address
FD_RESERVE = 64  # file descriptors kept free for the database, documents and logs
HEARTBEAT_INTERVAL_S = 5.0  # WebSocket ping period; a missed pong closes the socket
OFFLINE_TIMEOUT_S = HEARTBEAT_INTERVAL_S * 1.5  # a silent device is offline within this
RESUME_WINDOW_S = 15.0  # a device back within this keeps its pairings
SEND_TIMEOUT_S = 5.0  # a peer that cannot take a frame within this is dropped
# Admitted messages waiting for their turn on one connection. The socket keeps being read
# (pings answered) while earlier messages wait for the disk or the queue; past this many
# the reader waits too, so a device cannot pile up memory.
MAX_INBOX = 256
MAX_INBOX_BYTES = 1024 * 1024  # and at most this many bytes of them

# Abuse
RATE_PER_S = 50.0  # sustained messages a second per connection
RATE_BURST = 100  # messages allowed in a burst
RATE_DROP_LIMIT = 100  # dropped messages before the connection is closed
BAD_MESSAGE_LIMIT = 20  # malformed messages within BAD_MESSAGE_WINDOW_S before closing
BAD_MESSAGE_WINDOW_S = 60.0

# Tokens
DEFAULT_TOKEN_TTL_S = 365 * 24 * 3600.0
MIN_TOKEN_TTL_S = 60.0  # shorter would be expired before a device could use it
MAX_TOKEN_TTL_S = 10 * 365 * 24 * 3600.0
MAX_TOKEN_TIME = 253402300799.0  # 9999-12-31T23:59:59Z: any later "iat"/"exp" is malformed
MAX_TOKEN_CHARS = 2048
CLOCK_SKEW_S = 60.0  # tolerated for "issued at" in the future

# Client reconnect
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
REQUEST_TIMEOUT_S = 10.0

# Admin API
AUDIT_PAGE_MAX = 1000

# The branch manager's page (signaling/manager.py, signaling/people.py)
MANAGER_PIN_MIN_DIGITS = 6  # a manager's PIN opens the branch's figures and alerts
MANAGER_PIN_MAX_DIGITS = 12
MANAGER_SIGN_IN_FAILURES = 5  # wrong PINs for one manager id within the window: locked out
MANAGER_SIGN_IN_WINDOW_S = 300.0
MANAGER_LOCKOUT_S = 300.0
MANAGER_ADDRESS_FAILURES = 20  # wrong PINs from one address (any ids) within the window
MANAGER_SIGN_IN_CONCURRENT = 2  # PIN checks (scrypt, ~50 ms, 16 MB) running at once
MANAGER_IDLE_S = 15 * 60.0  # a session without the manager's own activity this long ends
MANAGER_SESSION_MAX_S = 12 * 3600.0  # and any session ends after a working day
MANAGER_SESSIONS_MAX = 64  # sessions held at once; the oldest goes first
MANAGER_POLL_S = 2.0  # the page asks for the branch's state this often
MANAGER_ACTIVITY_REPORT_S = 30.0  # the page reports the manager's own activity at most this often
MANAGER_EXPORT_MAX_DAYS = 31  # one CSV export covers at most this many local days
MANAGER_ALERTS_MAX = 50  # SLA alerts listed (newest first)
# The oldest decided claim whose evidence bundle the head office has not acknowledged: older
# than this and the manager's page raises an alert (the link has been down for long enough to
# look at; the branch itself goes on serving and keeps every bundle).
MANAGER_OUTBOX_ALERT_S = 2 * 3600.0
MANAGER_RECORDINGS_LISTED = 50  # session recordings listed on the page at once (newest first)

# HTTP bodies
MAX_JSON_BODY_BYTES = 64 * 1024  # a JSON request body (tokens, officers, upload opening)
MAX_JSON_DEPTH = 32  # nesting of a JSON request body
MAX_HTTP_BODY_BYTES = 4 * 1024 * 1024  # the largest body any route reads whole (imports)

# WebSocket close codes (4000-4999 are ours)
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011  # the server failed on a message (logged); the device reconnects
CLOSE_UNAUTHORIZED = 4001
CLOSE_REPLACED = 4002
CLOSE_HELLO_TIMEOUT = 4003

# Cases
PARKED_TOO_LONG_S = 10 * 60.0  # a case parked longer is flagged to its officer and manager

# TLS, the branch CA, enrolment and revocation (docs/security.md)
CA_VALID_DAYS = 10 * 365  # the branch CA; replacing it means enrolling every device again
SERVER_CERT_VALID_DAYS = 825  # the server's certificate (reissue with `bilik server ca init`)
DEVICE_CERT_VALID_DAYS = 825  # an enrolled device's certificate
MIN_EC_KEY_BITS = 256
MIN_RSA_KEY_BITS = 2048
ENROLMENT_CODE_TTL_S = 15 * 60.0  # a one-time enrolment code is refused after this
ENROLMENT_CODE_BYTES = 10  # 80 random bits: 16 base32 characters, not guessable in its life
MAX_CSR_BYTES = 16 * 1024
REVOCATION_POLL_S = 0.25  # a revocation made by `bilik server revoke` is seen within this
TLS_HANDSHAKE_S = 10.0  # a TLS handshake must be over within this
CLOSE_REVOKED = 4004  # the device's certificate (or id) was revoked

"""Every limit of the head office, named, in one place."""

from __future__ import annotations

MAX_CHUNK_BYTES = 1024 * 1024  # one PUT of an upload
MAX_JSON_BYTES = 64 * 1024  # an upload's opening request
MAX_BUNDLE_BYTES = 2 * 1024**3  # the same as bilik.evidence.limits.MAX_BUNDLE_BYTES
MAX_BOOKINGS_IMPORT_BYTES = 16 * 1024 * 1024
MAX_BOOKINGS_PER_DAY = 5000  # one branch's bookings served for one day
STALE_UPLOAD_S = 7 * 24 * 3600.0  # unfinished uploads untouched this long are dropped
SWEEP_INTERVAL_S = 3600.0  # how often each process looks for them (any process may)
DB_CONNECT_TIMEOUT_S = 10.0
DB_COMMAND_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 5.0

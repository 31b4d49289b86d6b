"""Every limit of the queue core, named, in one place (timeouts are rules: see rules.py)."""

from __future__ import annotations

MAX_BOOTHS_PER_HUB = 6  # one officer never serves more than six booths at once
MAX_TICKETS_PER_SERVICE_DAY = 999  # numbers run A001..A999 per service and day
MAX_ID_CHARS = 64  # booth, hub, booking-code and outcome strings
MAX_REASON_CHARS = MAX_ID_CHARS * 4  # any other text field of an event (a fault's reason)
MAX_SKILLS = 32  # service types one officer may handle
MAX_HISTORY = 64  # history entries kept on one ticket
MAX_IMPORT_ROWS = 5000  # appointments in one import file
MAX_IMPORT_BYTES = 4 * 1024 * 1024  # agrees with the HTTP route (signaling.limits)
RECENT_SAMPLES = 30  # handle times kept for the forecast
TOKEN_CHARS = 32  # longest per-ticket token (set by the server from a CSPRNG)
STATE_VERSION = 1  # version of Scheduler.to_dict()

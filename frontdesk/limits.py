"""Every limit and timeout of the front-desk agents (kiosk, queue display), named."""

from __future__ import annotations

CONNECT_TIMEOUT_S = 30.0  # the first connection at start; after that the client keeps trying
REQUEST_TIMEOUT_S = 10.0  # a ticket request not answered by then is reported as offline
REPORT_TIMEOUT_S = 5.0  # a Status report not acknowledged by then is dropped (sent again later)
PRINTER_RECHECK_S = 10.0  # while the printer is not ok, ask it this often whether it recovered
DEVICE_RETRY_MIN_S = 1.0  # a lost serial device is reopened after this, doubling...
DEVICE_RETRY_MAX_S = 30.0  # ...up to this
EXPIRE_CHECK_S = 5.0  # how often the display drops calls older than their maximum age
CONTROL_MAX_BODY = 4096  # the kiosk's control endpoint takes small JSON bodies only
HELP_HOLD_S = 300.0  # a call for help at the kiosk stays raised at the server this long
RESULT_SHOWN_S = 20.0  # the kiosk page shows a ticket or a refusal this long, then the start
PAGE_IDLE_S = 60.0  # a half-finished choice on the kiosk page goes back to the start after this
PAGE_HEARTBEAT_S = 10.0  # the kiosk page's events socket is pinged this often
PAGE_SEND_TIMEOUT_S = 5.0  # a kiosk page that cannot take an event this long is dropped
PAGE_QUEUE = 16  # events waiting for one kiosk page; beyond this the oldest go

"""The health of one device, in one vocabulary for every package.

The hardware registry reports it; the booth, the kiosk, the queue display and the hub send it to
the branch server in their status; the server shows it to the manager and on ``/metrics``. It
lives here, on the ground floor, so that none of them has to import another to name it.
"""

from __future__ import annotations

import enum


class DeviceHealth(enum.StrEnum):
    OK = "ok"
    ABSENT = "absent"
    BUSY = "busy"
    PERMISSION_DENIED = "permission_denied"
    ERROR = "error"
    REOPENING = "reopening"

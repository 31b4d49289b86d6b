"""Errors the queue core raises when it refuses an event; the state is left unchanged."""

from __future__ import annotations

from signaling.errors import SignalingError


class QueueError(SignalingError):
    """Base of the queue core's errors. ``code`` is machine-readable, ``key`` names catalogue text
    (``queue.*``) that can be shown to a participant, when there is one."""

    code = "queue_error"
    key: str | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def values(self) -> dict[str, str]:
        """Values for the placeholders of the ``key`` text (none by default)."""
        return {}


class InvalidEvent(QueueError, ValueError):
    """An event's fields are malformed (wrong type, empty id, negative capacity...)."""

    code = "invalid_event"


class UnknownBooth(QueueError, KeyError):
    code = "unknown_booth"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.detail


class UnknownHub(QueueError, KeyError):
    code = "unknown_hub"

    def __str__(self) -> str:
        return self.detail


class UnknownTicket(QueueError, KeyError):
    code = "unknown_ticket"
    key = "queue.ticket_unknown"

    def __str__(self) -> str:
        return self.detail


class UnknownAppointment(QueueError, KeyError):
    code = "unknown_appointment"
    key = "queue.booking_unknown"

    def __str__(self) -> str:
        return self.detail


class UnknownService(QueueError, ValueError):
    code = "unknown_service"
    key = "queue.unknown_service"


class InvalidTransition(QueueError):
    """The event does not fit the current state (a claim at a booth that called someone else...)."""

    code = "invalid_transition"


class WrongBooth(InvalidTransition):
    """The ticket was called to another booth."""

    code = "wrong_booth"
    key = "queue.wrong_booth"

    def __init__(self, detail: str, booth: str) -> None:
        super().__init__(detail)
        self.booth = booth

    def values(self) -> dict[str, str]:
        return {"booth": self.booth}


class NotCalled(InvalidTransition):
    """The ticket is still waiting (or already served) and cannot claim a booth."""

    code = "not_called"
    key = "queue.not_called"


class CheckInRefused(QueueError):
    """A booking cannot be checked in now (too early, too late, already checked in...)."""

    code = "check_in_refused"

    def __init__(self, detail: str, key: str) -> None:
        super().__init__(detail)
        self.key = key


class HubFull(QueueError):
    code = "hub_full"


class DailyLimitReached(QueueError):
    code = "daily_limit"
    key = "queue.daily_limit"


class InvalidQr(QueueError, ValueError):
    """A scanned payload is not a ticket of this branch."""

    code = "invalid_qr"
    key = "queue.qr_invalid"


class StateCorrupt(QueueError, ValueError):
    """A persisted state cannot be restored (wrong version, missing fields, broken links)."""

    code = "state_corrupt"


class ImportFailed(QueueError, ValueError):
    """An appointment file has errors; ``rows`` lists each (row number, field, problem)."""

    code = "import_failed"

    def __init__(self, rows: list[tuple[int, str, str]]) -> None:
        lines = [f"row {row}: {fld}: {problem}" for row, fld, problem in rows]
        shown = "; ".join(lines[:20]) + (f"; ... {len(lines) - 20} more" if len(lines) > 20 else "")
        super().__init__(f"{len(rows)} error(s) in appointment file: {shown}")
        self.rows = rows

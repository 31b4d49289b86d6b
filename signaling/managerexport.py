"""The manager's CSV export: one row per ticket of a range of local dates (pure).

The rows come from the queue's journal (the same record ``/api/stats`` counts from): wait is
first call minus issue, handle is session end minus claim, as in the day's figures. Times are
the branch's local time in ISO 8601 with its offset. A bad range is refused with a
:class:`BadRange` that says what is wrong.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta, timezone

from signaling import limits
from signaling.errors import SignalingError
from signaling.queue import decisions as de


class BadRange(SignalingError, ValueError):
    """The export's dates are missing, malformed, reversed or too far apart."""


@dataclass(frozen=True)
class Range:
    first: date
    last: date  # inclusive
    start: float  # epoch seconds of the first day's local midnight
    end: float  # and of the day after the last

    @property
    def filename(self) -> str:
        return f"bilik-{self.first.isoformat()}-{self.last.isoformat()}.csv"


def parse_range(first: str | None, last: str | None, *, utc_offset_min: int,
                max_days: int = limits.MANAGER_EXPORT_MAX_DAYS) -> Range:
    """``from`` and ``to`` as ``YYYY-MM-DD`` (the branch's local dates, both included)."""
    days = []
    for name, text in (("from", first), ("to", last)):
        if not text:
            raise BadRange(f"{name} is required, as a date YYYY-MM-DD")
        try:
            if len(text) != 10:
                raise ValueError
            days.append(date.fromisoformat(text))
        except ValueError:
            raise BadRange(f"{name}: {text[:40]!r} is not a date YYYY-MM-DD") from None
    a, b = days
    if b < a:
        raise BadRange(f"to ({b.isoformat()}) is before from ({a.isoformat()})")
    span = (b - a).days + 1
    if span > max_days:
        raise BadRange(f"{span} days is too long a range: export at most {max_days} days "
                       "at a time")
    offset = timedelta(minutes=utc_offset_min)

    def midnight(d: date) -> float:
        return (datetime(d.year, d.month, d.day, tzinfo=UTC) - offset).timestamp()

    return Range(a, b, midnight(a), midnight(b + timedelta(days=1)))


@dataclass
class TicketRow:
    date: str = ""
    ticket: str = ""
    number: str = ""
    service: str = ""
    kind: str = ""  # walk_in or appointment
    priority: str = ""
    booking: str = ""
    issued_at: str = ""
    called_at: str = ""
    claimed_at: str = ""
    ended_at: str = ""
    booth: str = ""
    hub: str = ""
    wait_s: str = ""
    handle_s: str = ""
    outcome: str = ""  # the officer's outcome, no_show, or waiting / in_service
    rescans: int = 0


COLUMNS = [f.name for f in fields(TicketRow)]


@dataclass
class _Seen:
    row: TicketRow
    issued: float
    called: float | None = None
    claimed: float | None = None


def _local(at: float, utc_offset_min: int) -> datetime:
    return datetime.fromtimestamp(at, timezone(timedelta(minutes=utc_offset_min)))


def ticket_rows(journal: Iterable[tuple[float, Sequence[de.Decision]]], *,
                utc_offset_min: int, rescans: Mapping[str, int] | None = None
                ) -> list[TicketRow]:
    """One row per ticket issued (or booking checked in) in the journal, in issue order."""
    seen: dict[str, _Seen] = {}

    def stamp(at: float) -> str:
        return _local(at, utc_offset_min).isoformat(timespec="seconds")

    for at, decisions in journal:
        for d in decisions:
            if isinstance(d, de.TicketIssuedDecision | de.CheckedIn):
                row = TicketRow(date=_local(at, utc_offset_min).date().isoformat(),
                                ticket=d.ticket, number=d.number, service=d.service,
                                issued_at=stamp(at), outcome="waiting")
                if isinstance(d, de.CheckedIn):
                    row.kind, row.booking = "appointment", d.code
                else:
                    row.kind, row.priority = "walk_in", d.priority
                seen[d.ticket] = _Seen(row, at)
                continue
            s = seen.get(getattr(d, "ticket", None) or "")
            if s is None:
                continue
            if isinstance(d, de.Call) and s.called is None:
                s.called = at
                s.row.called_at, s.row.booth = stamp(at), d.booth
                s.row.wait_s = f"{at - s.issued:.1f}"
            elif isinstance(d, de.Claimed) and s.claimed is None:
                s.claimed = at
                s.row.claimed_at, s.row.booth, s.row.outcome = stamp(at), d.booth, "in_service"
            elif isinstance(d, de.Pair | de.Repair):
                s.row.hub = d.hub
            elif isinstance(d, de.NoShow):
                s.row.outcome = "no_show"
            elif isinstance(d, de.SessionClosed):
                s.row.ended_at, s.row.outcome = stamp(at), d.outcome or "closed"
                if d.hub:
                    s.row.hub = d.hub
                if s.claimed is not None:
                    s.row.handle_s = f"{at - s.claimed:.1f}"
    rows = [s.row for s in seen.values()]
    for row in rows:
        row.rescans = int((rescans or {}).get(row.ticket, 0))
    return rows


def to_csv(rows: Iterable[TicketRow]) -> str:
    """The rows as CSV with a header row (RFC 4180 line ends, as spreadsheets expect)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in COLUMNS])
    return out.getvalue()


def _cell(value: object) -> object:
    # A text cell a spreadsheet would run as a formula (an officer's outcome code is free
    # text) is written as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

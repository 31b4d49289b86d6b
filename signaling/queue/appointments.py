"""Booked appointments: import from JSON or CSV (with a precise error per row) and check-in.

A participant may book any branch, so a central export may hold other branches' bookings:
they are counted and left out, not refused. Slot times are ISO 8601; a time without an offset
is the branch's local time.

JSON: a list of objects, or ``{"appointments": [...]}``. CSV: a header row. Fields: ``code``
(the booking code printed as its QR), ``service``, ``slot``; optional ``branch`` and ``name``.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from bilik.codes import is_booking_code
from signaling.queue import limits
from signaling.queue.errors import CheckInRefused, ImportFailed
from signaling.queue.rules import QueueRules
from signaling.queue.tickets import day_key

FIELDS = ("code", "service", "slot", "branch", "name")
REQUIRED = ("code", "service", "slot")


class AppointmentState(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    MISSED = "missed"  # the check-in window closed without the participant


@dataclass
class Appointment:
    code: str
    service: str
    slot: float  # seconds since the epoch
    branch: str
    name: str = ""
    state: AppointmentState = AppointmentState.BOOKED
    ticket: str | None = None
    checked_in_at: float | None = None
    alerted: bool = False  # a late alert was raised for it

    def to_dict(self) -> dict[str, Any]:
        d = dict(vars(self))  # flat fields: no deep copy needed
        d["state"] = self.state.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Appointment:
        d = dict(d)
        d["state"] = AppointmentState(d.get("state", "booked"))
        return cls(**d)

    def booking(self) -> dict[str, Any]:
        """The fields an import carries (what an ``AppointmentsBooked`` event holds)."""
        return {
            "code": self.code,
            "service": self.service,
            "slot": self.slot,
            "branch": self.branch,
            "name": self.name,
        }


@dataclass(frozen=True)
class ImportResult:
    appointments: list[Appointment]
    other_branches: int  # rows for other branches, left out


def parse_slot(text: str, utc_offset_min: int) -> float:
    """ISO 8601 date-time to epoch seconds; without an offset it is the branch's local time."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone(timedelta(minutes=utc_offset_min)))
    return value.timestamp()


def parse(
    data: str | bytes,
    fmt: str,
    *,
    branch: str,
    services: dict[str, str] | list[str],
    utc_offset_min: int,
) -> ImportResult:
    """Parse an appointment file; raise :class:`ImportFailed` listing every bad row.

    Rows are numbered as a person sees them: CSV rows from 2 (after the header), JSON items from 1.
    """
    if isinstance(data, bytes):
        if len(data) > limits.MAX_IMPORT_BYTES:
            raise ImportFailed([(0, "file", f"larger than {limits.MAX_IMPORT_BYTES} bytes")])
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problem = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise ImportFailed([(0, "file", problem)]) from None
    if len(data) > limits.MAX_IMPORT_BYTES:
        raise ImportFailed([(0, "file", f"larger than {limits.MAX_IMPORT_BYTES} bytes")])
    if fmt == "json":
        rows, first = _json_rows(data), 1
    elif fmt == "csv":
        rows, first = _csv_rows(data), 2
    else:
        raise ImportFailed([(0, "file", f"unknown format {fmt!r}; expected 'json' or 'csv'")])
    if len(rows) > limits.MAX_IMPORT_ROWS:
        raise ImportFailed([(0, "file", f"more than {limits.MAX_IMPORT_ROWS} rows")])
    errors: list[tuple[int, str, str]] = []
    found: list[Appointment] = []
    seen: dict[str, int] = {}
    other = 0
    for i, row in enumerate(rows):
        n = i + first
        if not isinstance(row, dict):
            errors.append((n, "row", f"expected an object, got {type(row).__name__}"))
            continue
        row_errors = len(errors)
        unknown = sorted(set(row) - set(FIELDS))
        if "extra cells" in unknown:
            errors.append((n, "row", "more cells than header columns"))
        elif unknown:
            errors.append((n, unknown[0], "unknown field; known: " + ", ".join(FIELDS)))
        values: dict[str, str] = {}
        for name in FIELDS:
            raw = row.get(name)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if name in REQUIRED:
                    errors.append((n, name, "missing"))
                continue
            if not isinstance(raw, str):
                errors.append((n, name, f"expected text, got {type(raw).__name__}"))
                continue
            values[name] = raw.strip()
        code = values.get("code")
        if code is not None:
            if not is_booking_code(code):
                errors.append((n, "code", f"{code[:40]!r} is not 4-32 letters, digits or '-'"))
            elif code in seen:
                errors.append((n, "code", f"{code!r} already on row {seen[code]}"))
            else:
                seen[code] = n
        service = values.get("service")
        if service is not None and service not in services:
            errors.append((n, "service", f"{service[:40]!r} unknown; known: {', '.join(services)}"))
        slot: float | None = None
        if "slot" in values:
            try:
                slot = parse_slot(values["slot"], utc_offset_min)
            except ValueError:
                errors.append((n, "slot", f"{values['slot'][:40]!r} is not an ISO 8601 date-time"))
        name_ = values.get("name", "")
        if len(name_) > 80:
            errors.append((n, "name", "longer than 80 characters"))
        row_branch = values.get("branch", branch)
        if len(errors) > row_errors:
            continue
        if row_branch != branch:
            other += 1
            continue
        assert code is not None and service is not None and slot is not None
        found.append(Appointment(code, service, slot, branch, name_))
    if errors:
        raise ImportFailed(errors)
    return ImportResult(found, other)


def _json_rows(text: str) -> list[Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed([(0, "file", f"not JSON: {exc.msg} at line {exc.lineno}")]) from None
    except RecursionError:
        raise ImportFailed([(0, "file", "not an appointment list: nested too deeply")]) from None
    if isinstance(doc, dict) and isinstance(doc.get("appointments"), list):
        doc = doc["appointments"]
    if not isinstance(doc, list):
        raise ImportFailed([(0, "file", "expected a list of appointments")])
    return doc


def _csv_rows(text: str) -> list[Any]:
    # newline="" lets the csv module see every line ending as written: CRLF, LF or a lone CR
    # (old spreadsheet exports), and CR or LF inside quoted cells.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise ImportFailed([(1, "header", f"bad CSV: {exc}")]) from None
    if not fieldnames:
        raise ImportFailed([(0, "file", "empty CSV (no header row)")])
    header = [h.strip() for h in fieldnames]
    missing = [f for f in REQUIRED if f not in header]
    unknown = [h for h in header if h not in FIELDS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append((1, "header", "missing column(s): " + ", ".join(missing)))
        if unknown:
            problems.append((1, "header", "unknown column(s): " + ", ".join(unknown)))
        raise ImportFailed(problems)
    reader.fieldnames = header
    rows: list[Any] = []
    try:
        for raw in reader:
            row: dict[Any, Any] = dict(raw)
            extra = row.pop(None, None)
            if extra:
                row["extra cells"] = ",".join(extra)
            rows.append(row)
    except csv.Error as exc:
        raise ImportFailed([(reader.line_num, "file", f"bad CSV: {exc}")]) from None
    return rows


def check_in_window(appointment: Appointment, rules: QueueRules) -> tuple[float, float]:
    """The times between which a booking may check in."""
    return appointment.slot - rules.check_in_early_s, appointment.slot + rules.check_in_late_s


def refuse_check_in(appointment: Appointment, now: float, rules: QueueRules) -> None:
    """Raise :class:`CheckInRefused` (with the text to show) if it cannot check in now."""
    if appointment.state is AppointmentState.CHECKED_IN:
        raise CheckInRefused(
            f"booking {appointment.code} is already checked in", "queue.booking_used"
        )
    if appointment.state is AppointmentState.MISSED:
        raise CheckInRefused(f"booking {appointment.code} was missed", "queue.booking_too_late")
    opens, closes = check_in_window(appointment, rules)
    if not opens <= now <= closes and (
        day_key(appointment.slot, rules.utc_offset_min) != day_key(now, rules.utc_offset_min)
    ):
        # Not "too early, come back later": a participant who came on the wrong day must
        # hear that the booking is for another day.
        raise CheckInRefused(
            f"booking {appointment.code} is for {day_key(appointment.slot, rules.utc_offset_min)}"
            f", today is {day_key(now, rules.utc_offset_min)}",
            "queue.booking_other_day",
        )
    if now < opens:
        raise CheckInRefused(
            f"booking {appointment.code} opens for check-in {opens - now:.0f} s from now",
            "queue.booking_too_early",
        )
    if now > closes:
        raise CheckInRefused(
            f"booking {appointment.code} closed for check-in {now - closes:.0f} s ago",
            "queue.booking_too_late",
        )

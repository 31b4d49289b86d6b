"""What a person (or the demo) types at the kiosk console, and scanned codes: a pure parser.

    jht              a ticket for service jht
    jht elderly      ... with priority (elderly, disabled, pregnant)
    code BK-1001     check in a booking
    reprint          print the last ticket that failed to print again
    help             the list of commands

Anything else raises :class:`CommandError` saying what is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bilik.codes import CodeKind, kind_of
from signaling.protocol import Priority

PRIORITY_NAMES = tuple(x.value for x in Priority if x is not Priority.NONE)


class CommandError(ValueError):
    """A console line or a scanned code the kiosk cannot act on; the message says why."""


@dataclass(frozen=True)
class TakeTicket:
    service: str
    priority: str = "none"


@dataclass(frozen=True)
class CheckInCode:
    code: str


@dataclass(frozen=True)
class Reprint:
    pass


@dataclass(frozen=True)
class Help:
    pass


Command = TakeTicket | CheckInCode | Reprint | Help


def usage(services: Sequence[str]) -> str:
    return (
        f"commands: <service> [priority] (services: {', '.join(services)}; priorities: "
        f"{', '.join(PRIORITY_NAMES)}), code <booking code>, reprint, help"
    )


def priority_of(value: str) -> str:
    """Validate a priority name (``none`` or one of the queue's priorities)."""
    name = value.strip().lower() or "none"
    try:
        return Priority(name).value
    except ValueError:
        raise CommandError(
            f"unknown priority {value!r}; expected none, {', '.join(PRIORITY_NAMES)}"
        ) from None


def booking_code(raw: str) -> str:
    """A booking code as typed or scanned; CommandError if it cannot be one."""
    code = raw.strip()
    kind = kind_of(code)
    if kind is CodeKind.TICKET:
        raise CommandError("this is a queue ticket, not a booking code: scan it at the booth")
    if kind is not CodeKind.BOOKING:
        shown = code if len(code) <= 40 else code[:40] + "..."
        raise CommandError(
            f"{shown!r} is not a booking code (letters, digits, - and _, at most 32)"
        )
    return code


def parse_command(line: str, services: Sequence[str]) -> Command | None:
    """One console line -> a command; None for a blank line."""
    words = line.split()
    if not words:
        return None
    head = words[0].lower()
    if head in ("help", "?"):
        return Help()
    if head == "reprint" and len(words) == 1:
        return Reprint()
    if head == "code":
        if len(words) != 2:
            raise CommandError("usage: code <booking code>, e.g. code BK-1001")
        return CheckInCode(booking_code(words[1]))
    if head in services:
        if len(words) > 2:
            raise CommandError(f"usage: {head} [priority]; " + usage(services))
        return TakeTicket(head, priority_of(words[1]) if len(words) == 2 else "none")
    raise CommandError(f"unknown command or service {words[0]!r}; " + usage(services))

"""The relay: SDP, ICE and the other messages a booth and its paired hub send each other.

The server checks that sender and receiver are the two sides of the named pairing and that the
receiver is online; the receiver learns who sent it, and the sender cannot choose what it sees.
"""

from __future__ import annotations

from typing import Any

from signaling import protocol as p
from signaling.errors import ProtocolError
from signaling.pairing import PairingBook
from signaling.protocol import ErrorCode


def relay_target(book: PairingBook, sender: str, msg: Any) -> str:
    """The device ``msg`` goes to; :class:`ProtocolError` unless ``sender`` is paired with it."""
    other = book.counterpart(msg.pairing, sender)
    if other is None or other != msg.peer:
        raise ProtocolError(
            ErrorCode.NOT_PAIRED,
            f"{sender} is not paired with {msg.peer} in pairing {msg.pairing}",
        )
    return other


def forwarded(msg: Any, sender: str) -> p.Message:
    """What the receiver gets: the same message, its ``peer`` the sender."""
    return type(msg)(**{**_fields(msg), "peer": sender})


def _fields(msg: p.Message) -> dict[str, Any]:
    return {k: v for k, v in p.to_dict(msg).items() if k not in ("v", "type")}

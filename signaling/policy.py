"""What each role may send: the server's authorisation table, pure and in one place."""

from __future__ import annotations

from signaling import protocol as p
from signaling.protocol import Role

# Messages a device of each role may send to the server after its hello.
MAY_SEND: dict[Role, frozenset[str]] = {
    Role.BOOTH: frozenset(
        {p.Status.TYPE, p.ServiceRequest.TYPE, p.Release.TYPE, p.Offer.TYPE, p.Answer.TYPE,
         p.Ice.TYPE, p.Hand.TYPE, p.Seat.TYPE, p.DocUpdate.TYPE, p.Claim.TYPE, p.CheckIn.TYPE,
         p.BoothReady.TYPE}
    ),
    Role.HUB: frozenset(
        {p.Status.TYPE, p.Capacity.TYPE, p.Release.TYPE, p.Offer.TYPE, p.Answer.TYPE, p.Ice.TYPE,
         p.DocRequest.TYPE, p.DocUpdate.TYPE, p.Focus.TYPE, p.SessionEnd.TYPE, p.Transfer.TYPE,
         p.Park.TYPE, p.Attention.TYPE, p.OfficerSignIn.TYPE, p.Decision.TYPE}
    ),
    Role.DISPLAY: frozenset({p.Status.TYPE}),
    Role.KIOSK: frozenset({p.Status.TYPE, p.TicketRequest.TYPE, p.CheckIn.TYPE}),
    # Admin credentials are for the HTTP admin API, not for the device socket.
    Role.ADMIN: frozenset(),
}

# Roles that may open the device WebSocket at all.
DEVICE_ROLES = frozenset({Role.BOOTH, Role.HUB, Role.DISPLAY, Role.KIOSK})


def may_send(role: Role, message_type: str) -> bool:
    return message_type in MAY_SEND.get(role, frozenset())


def allow_type(role: Role, message_type: str) -> None:
    """Let ``role`` send ``message_type`` (used when a feature adds its messages)."""
    MAY_SEND[role] = MAY_SEND.get(role, frozenset()) | {message_type}

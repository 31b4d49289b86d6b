"""The branch's queue core: tickets, appointments, calling, officer routing, forecasts, stats.

Pure: no clock, no sockets, no database. The server feeds it events with the time and acts on
the decisions it returns; ``Scheduler.to_dict()`` / ``from_dict()`` persist and resume it.
See docs/queue.md.
"""

from signaling.protocol_enums import Priority  # the protocol's, named here for the core's users
from signaling.queue.decisions import Decision, DecisionKind, RiskReason, UnpairReason
from signaling.queue.errors import QueueError
from signaling.queue.events import Event, EventKind
from signaling.queue.rules import QueueRules
from signaling.queue.scheduler import Scheduler
from signaling.queue.tickets import TicketState

__all__ = [
    "Decision",
    "DecisionKind",
    "Event",
    "EventKind",
    "Priority",
    "QueueError",
    "QueueRules",
    "RiskReason",
    "Scheduler",
    "TicketState",
    "UnpairReason",
]

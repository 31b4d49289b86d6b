"""The queue's clock: on a :class:`~signaling.queue.events.Tick`, recalls and no-shows, missed
bookings, late alerts, spills to an idle officer and forecasts. No I/O."""

from __future__ import annotations

from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue import forecast, moves
from signaling.queue.appointments import AppointmentState
from signaling.queue.booths import BoothState
from signaling.queue.routing import choose_hub
from signaling.queue.state import Decisions, QueueState
from signaling.queue.tickets import (
    TicketState,
    day_key,
)


def tick(qs: QueueState, event: ev.Tick, now: float, out: Decisions) -> None:
    r = qs.rules
    qs.last_tick = now
    today = day_key(now, r.utc_offset_min)
    if today != qs.day:
        qs.prune(now)
        qs.day = today
    for b in sorted(qs.booths.values(), key=lambda b: b.id):
        if b.state is not BoothState.CALLING or b.ticket is None or b.called_at is None:
            continue
        t = qs.tickets[b.ticket]
        if now < b.called_at + r.claim_timeout_s * (t.recalls + 1):
            continue
        if t.recalls < r.recalls:
            t.recalls += 1
            t.note(now, "recall", b.id)
            out.append(
                de.Recall(
                    ticket=t.id, number=t.number, booth=b.id, label=b.label, attempt=t.recalls
                )
            )
        else:
            t.state = TicketState.NO_SHOW
            t.ended_at = now
            t.booth = None
            t.note(now, "no_show", b.id)
            qs.sample("cycle", now - b.called_at)
            moves.empty(qs, b, now, BoothState.FREE)
            out.append(de.NoShow(ticket=t.id, number=t.number, booth=b.id))
    for a in sorted(qs.appointments.values(), key=lambda a: (a.slot, a.code)):
        if a.state is not AppointmentState.BOOKED:
            continue
        if now > a.slot + r.check_in_late_s:
            a.state = AppointmentState.MISSED
            out.append(de.AppointmentMissed(code=a.code, slot=a.slot))
        elif now >= a.slot and not a.alerted:
            a.alerted = True
            out.append(
                de.AppointmentAtRisk(
                    code=a.code,
                    ticket=None,
                    slot=a.slot,
                    predicted_start=now,
                    reason=de.RiskReason.NOT_CHECKED_IN,
                )
            )
    watch_sessions(qs, now, out)
    if now >= qs.next_forecast:
        qs.next_forecast = now + r.forecast_interval_s
        forecast_risks(qs, now, out)


def forecast_risks(qs: QueueState, now: float, out: Decisions) -> None:
    """Alert appointments whose predicted start is late, and let them be called at once."""
    r = qs.rules
    times = qs.expected_call_times(now)
    walk = forecast.mean(qs.samples["walk"], r.default_walk_s)
    attend = forecast.mean(qs.samples["attention_delay"], 0.0)
    for tid, at in sorted(times.items(), key=lambda kv: kv[1]):
        t = qs.tickets.get(tid)
        if t is None or t.appointment is None:
            continue
        appt = qs.appointments[t.appointment]
        predicted = at + walk + attend
        if predicted - qs.due(t) > r.sla_late_s - r.risk_margin_s and not appt.alerted:
            appt.alerted = True
            t.at_risk = True
            t.note(now, "at_risk", f"predicted start {predicted:.0f}")
            out.append(
                de.AppointmentAtRisk(
                    code=appt.code,
                    ticket=t.id,
                    slot=t.slot or 0.0,
                    predicted_start=predicted,
                    reason=de.RiskReason.PREDICTED_LATE,
                )
            )


def watch_sessions(qs: QueueState, now: float, out: Decisions) -> None:
    """Appointments in a booth: alert if not attended in time; spill to an idle officer."""
    r = qs.rules
    for b in sorted(qs.booths.values(), key=lambda b: b.id):
        if b.state is not BoothState.OCCUPIED or b.ticket is None:
            continue
        t = qs.tickets[b.ticket]
        if t.appointment is None or t.started_at is not None:
            continue
        appt = qs.appointments[t.appointment]
        if (
            b.hub is not None
            and t.paired_at is not None
            and not qs.spilled(t)
            and now - t.paired_at >= r.spill_after_s
            and qs.hubs[b.hub].focus != b.id
        ):
            current = qs.hubs[b.hub]
            target = choose_hub(
                qs.hubs.values(), t.service, exclude=current.id, idle_only=True
            )
            if target is not None and len(target.booths) < len(current.booths):
                moves.unlink(qs, b, current)
                t.note(now, "spill", f"{current.id} -> {target.id}")
                moves.pair(qs, b, t, target, now, out, de.UnpairReason.SPILL, current.id)
        if not appt.alerted and now - qs.due(t) >= r.sla_late_s - r.risk_margin_s:
            appt.alerted = True
            reason = de.RiskReason.NOT_ATTENDED if b.hub else de.RiskReason.NO_OFFICER
            out.append(
                de.AppointmentAtRisk(
                    code=appt.code,
                    ticket=t.id,
                    slot=appt.slot,
                    predicted_start=now,
                    reason=reason,
                )
            )

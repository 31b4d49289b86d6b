"""The claim receipt at the end of a visit, and what happens when the printer cannot print.

:func:`receipt_for` builds the :class:`~hardware.printing.ClaimReceipt` from the verdict
(pure). :func:`print_receipt` prints it and never raises: a failed job comes back as
``(False, why)``; the agent then keeps the reference and decision on screen, reports the
printer's fault in its Status health, and the participant leaves with the reference.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from booth.state import Outcome
from booth.view import outcome_name
from hardware.errors import HardwareError
from hardware.printing import AsyncPrinter, ClaimReceipt
from hardware.printing.limits import MAX_FIELD_CHARS

log = logging.getLogger(__name__)


def receipt_for(verdict: Outcome, issued_at: datetime) -> ClaimReceipt:
    steps = [verdict.next_steps[:MAX_FIELD_CHARS]] if verdict.next_steps.strip() else []
    return ClaimReceipt(reference=verdict.reference,
                        decision=outcome_name(verdict.outcome).both(),
                        next_steps=steps, issued_at=issued_at)


async def print_receipt(printer: AsyncPrinter | None, verdict: Outcome,
                        now: Callable[[], datetime] = datetime.now) -> tuple[bool, str]:
    """Print the receipt; ``(True, "")`` or ``(False, what went wrong)``."""
    if printer is None:
        return False, "no receipt printer configured"
    try:
        receipt = receipt_for(verdict, now())
        job = await printer.print_receipt(receipt)
    except (HardwareError, ValueError, OSError) as exc:
        log.warning("receipt not printed: %s", exc,
                    extra={"fields": {"reference": verdict.reference}})
        return False, str(exc)
    log.info("receipt printed", extra={"fields": {"reference": verdict.reference,
                                                  "job": job.job_id}})
    return True, ""

"""Keep Python's garbage collector from pausing a busy process for a tenth of a second.

CPython's full (generation 2) collection walks every tracked object and stops the event
loop while it does. A branch server holding 2000 device connections keeps about 200,000
long-lived objects, and a full collection then took 100-230 ms on a 2-core AMD EPYC: the
whole p99 of relay latency (bench/signaling.py measured p99 150-200 ms with the defaults,
9.5 ms with this). Two standard remedies, applied once the process has imported and built
what it keeps for its whole life:

- ``gc.freeze()`` moves the objects existing then (modules, classes, the application) to
  the permanent generation, so no collection walks them again;
- larger thresholds make collections rarer: young collections every
  ``YOUNG_THRESHOLD`` allocations instead of 700, and full ones far less often. Garbage
  *cycles* live a little longer; everything else is still freed at once by reference
  counting, so memory stays flat (bench/booth_soak.py and the hub's RSS figures watch it).
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000  # allocations between generation-0 collections (CPython: 700)
MIDDLE_THRESHOLD = 20  # generation-0 collections per generation-1 collection (CPython: 10)
OLD_THRESHOLD = 10  # generation-1 collections per full collection (CPython: 10)


def settle() -> None:
    """Freeze what exists now and raise the thresholds; call once, after start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    log.debug("garbage collector settled", extra={"fields": {
        "frozen": gc.get_freeze_count(), "thresholds": gc.get_threshold()}})

"""Every limit, timeout and default of ``bilik demo``, named, in one place."""

from __future__ import annotations

# The branch
BOOTHS = 6
HUBS = 2
VIDEO_FPS = 10  # booth video (a pre-encoded loop): enough to see it move, light on two cores
BOOTH_GOODBYE_S = 6.0  # the booth's goodbye screen; the product's default (20 s) is for people
START_TIMEOUT_S = 240.0  # eleven processes importing aiortc at once on a two-core machine
SETUP_STEP_TIMEOUT_S = 120.0  # one set-up command (officer add, make-replay)
HTTP_TIMEOUT_S = 5.0

# Progress and the overview page
REPORT_EVERY_S = 3.0
POLL_S = 0.5  # how often the watchers look (console state, printers, the queue)
HELD_AFTER_RECEIPT_S = 30.0  # a booth still held by the queue this long after a receipt
SCREENS_KEPT = 8  # booth screen snapshots kept per booth; older ones are deleted

# Participants
RATE_PER_MIN = 10.0  # arrivals a minute: above what two officers clear, so a queue forms
SERVICE = "jht"  # old-age savings: about 95 % of the claims at a branch
WALK_S = (2.0, 5.0)  # from the call on the screen to the booth's reader
BLURRY_SHARE = 0.5  # participants whose first document is held out of focus
BLURRY_FRAMES = 10  # 1 s of blurred pictures at the booth's 10 frames a second
STILL_FRAMES = 16  # then each document (the card, then a page) held still: 1.6 s

# The simulated officer
TALK_S = (1.5, 3.5)  # greeting a participant, reading their documents
RESCAN_SHARE = 0.25  # cases where the officer asks for one document again
DOCUMENTS_TIMEOUT_S = 90.0  # documents not all in by then: the officer decides anyway
SIGN_IN_TIMEOUT_S = START_TIMEOUT_S

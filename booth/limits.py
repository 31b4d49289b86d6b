"""Every limit and timeout of the booth agent, named, in one place."""

from __future__ import annotations

CONNECT_TIMEOUT_S = 30.0  # the first connection to the branch server, before giving up at start
NEGOTIATION_TIMEOUT_S = 20.0  # an offer not answered and connected by then is made again
REREQUEST_DELAY_S = 1.0  # after a release or a failed call, ask for service again after this
SIGNALING_REQUEST_TIMEOUT_S = 10.0
REPLAY_MIN_FRAMES = 2
REPLAY_MAX_BYTES = 64 * 1024 * 1024  # a replay loop larger than this is refused

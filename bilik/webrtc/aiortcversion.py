"""The aiortc versions whose private parts Bilik's hooks were read and tested against.

Four places reach into aiortc where it has no public API: the marker jitter buffer
(:mod:`bilik.webrtc.jitter`), the bounded decoder backlog (:mod:`bilik.webrtc.backlog`), the
audio-level reader (:mod:`bilik.webrtc.audiolevel`) and the booth's bitrate cap
(``booth/bitrate.py``). Each checks the shape it relies on; the version check is this one,
so that an upgrade is one line here once every hook's tests pass on the new version.
"""

from __future__ import annotations

import aiortc

CHECKED = ("1.16.",)


def require(feature: str, how_to_check: str, error: type[Exception],
            version: str | None = None) -> None:
    """Raise ``error`` unless aiortc ``version`` (default: the installed one) was checked;
    its message names ``feature`` and what to do (``how_to_check``)."""
    version = aiortc.__version__ if version is None else version
    if not version.startswith(CHECKED):
        raise error(f"aiortc {version} is not a version {feature} was checked against "
                    f"(checked: {', '.join(v + 'x' for v in CHECKED)}); {how_to_check}, then "
                    "add the version to bilik/webrtc/aiortcversion.py")

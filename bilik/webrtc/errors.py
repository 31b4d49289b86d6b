"""Errors of the shared WebRTC plumbing."""

from __future__ import annotations

from bilik.errors import BilikError


class WebRtcError(BilikError):
    """The shared WebRTC plumbing could not do what was asked."""


class JitterHookError(WebRtcError):
    """aiortc is not shaped as the marker jitter-buffer hook expects (version or code changed)."""

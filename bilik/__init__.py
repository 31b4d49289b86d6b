"""Bilik: booth controller for one-to-many video service at branch offices.

This package holds what the four roles share and nothing role-specific: the
``bilik`` command line, the configuration loader, logging set-up and the
participant-facing message catalogue. ``hardware`` may import it; it imports
none of the four role packages at module level.
"""

__version__ = "0.1.0"

"""The ``bilik hw`` commands, one module per subject; :mod:`hardware.cli` is their parser."""

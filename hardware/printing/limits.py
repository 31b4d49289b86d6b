"""Named limits and timeouts of the printing package, in one place."""

from __future__ import annotations

STATUS_TIMEOUT_S = 0.5
"""How long one real-time status reply (DLE EOT n) may take before the printer counts as silent."""

CONNECT_TIMEOUT_S = 3.0
"""How long opening a TCP connection to a network printer may take."""

WRITE_TIMEOUT_S = 5.0
"""How long the printer may refuse job bytes (buffer full, flow control) before we give up."""

DEFAULT_BAUDRATE = 19200
"""Serial speed when an address names none."""

TCP_DEFAULT_PORT = 9100
"""The raw printing port of network printers ("JetDirect")."""

PROFILE = "TM-T20II"
"""python-escpos capability profile: 80 mm roll, 576 dots, 48 columns of font A, native QR."""

COLUMNS = 48
"""Characters per line of font A on the profile above; templates wrap text to this."""

CODE_PAGE = "CP858"
"""Code page for text: Latin-1 letters and the euro sign; Indonesian needs only Latin letters."""

QR_MODULE_DOTS = 6
"""Dots per QR module for the printer's native QR command (1-16)."""

MAX_FIELD_CHARS = 400
"""Longest single text field a template accepts (a reference, a step); longer is a caller bug."""

"""OCR of the claim's documents: the NIK and names read, their structure checked, the
documents of a claim compared.

    from hardware.ocr import Reader, parse_nik, mismatches
"""

from bilik.documents.crosscheck import Mismatch, MismatchKind, mismatches, pension_age
from bilik.documents.nik import InvalidNik, Nik, parse_nik
from hardware.ocr.reader import OcrUnavailable, Reader
from hardware.ocr.reading import Field, Person, Reading, parse_lines

__all__ = [
    "Field",
    "InvalidNik",
    "Mismatch",
    "MismatchKind",
    "Nik",
    "OcrUnavailable",
    "Person",
    "Reader",
    "Reading",
    "mismatches",
    "parse_lines",
    "parse_nik",
    "pension_age",
]

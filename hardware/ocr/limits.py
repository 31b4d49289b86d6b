"""Named limits of OCR, with the reason for each value."""

from __future__ import annotations

TESSDATA_DIRS = (  # Debian's tesseract-ocr-ind puts its data in the first (Tesseract 5)
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
)
LANGUAGE = "ind"  # Indonesian: the labels (Nama, Tempat/Tgl Lahir) and names read best
PRINT_PX = 24.0  # the smallest print is enlarged to 24 px: Tesseract reads best at 20-30 px
MAX_OCR_PIXELS = 6_000_000  # a page is enlarged no further than this (a KK at 24 px print
# would be 9 MP and take seconds): its print is bigger than the card's anyway
MIN_LINE_CONFIDENCE = 30.0  # lines Tesseract is less sure of are noise (guilloche, photo)

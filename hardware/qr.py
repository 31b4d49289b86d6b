"""QR and barcode decoding from camera frames (pyzbar, on a grey picture).

    for code in decode(frame):
        print(code.type, code.data, code.polygon)

A frame that is not a picture (wrong type, dtype or shape) raises :class:`ValueError`
naming the problem; a picture without codes gives an empty list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from pyzbar import pyzbar


@dataclass(frozen=True)
class Decoded:
    """One code found in a frame: its symbology (``"QRCODE"``, ``"CODE128"``, ...), its
    text, and its outline as (x, y) pixel corners in the frame."""

    type: str
    data: str
    polygon: tuple[tuple[int, int], ...]

    @property
    def raw(self) -> bytes:
        return self.data.encode("utf-8", errors="surrogateescape")


def to_gray(frame: object) -> np.ndarray:
    """A contiguous ``uint8`` grey picture from a grey, BGR or BGRA frame; else ValueError."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must hold 8-bit pixels (uint8), got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        gray = frame
    elif frame.ndim == 3 and frame.shape[2] == 3:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    else:
        raise ValueError(f"frame must be H x W grey or H x W x 3 BGR, got shape {frame.shape}")
    if gray.shape[0] < 1 or gray.shape[1] < 1:
        raise ValueError(f"frame is empty: shape {frame.shape}")
    return np.ascontiguousarray(gray)


def _symbols(names: Iterable[str] | None) -> list[pyzbar.ZBarSymbol] | None:
    if names is None:
        return None
    out = []
    for name in names:
        try:
            out.append(pyzbar.ZBarSymbol[name.upper()])
        except KeyError:
            known = ", ".join(s.name for s in pyzbar.ZBarSymbol)
            raise ValueError(f"unknown symbology {name!r}; known: {known}") from None
    return out


def _text(data: bytes) -> str:
    # zbar hands QR payloads over as UTF-8; anything else is kept byte-for-byte.
    return data.decode("utf-8", errors="surrogateescape")


def decode(frame: object, *, symbols: Iterable[str] | None = None) -> list[Decoded]:
    """Every code in ``frame`` (optionally only the named symbologies, e.g. ``["QRCODE"]``),
    in the order zbar reports them."""
    gray = to_gray(frame)
    found = pyzbar.decode(gray, symbols=_symbols(symbols))
    return [
        Decoded(
            type=str(item.type),
            data=_text(item.data),
            polygon=tuple((int(p.x), int(p.y)) for p in item.polygon),
        )
        for item in found
    ]

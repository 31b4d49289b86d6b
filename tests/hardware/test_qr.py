"""QR decoding from camera frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import qrcode

from hardware.qr import Decoded, decode


def qr_image(data: str, box: int = 6) -> np.ndarray:
    img = qrcode.make(data, box_size=box, border=4).convert("L")
    return np.array(img, dtype=np.uint8)


def in_frame(code: np.ndarray, angle: float = 0.0) -> np.ndarray:
    frame = np.full((720, 1280, 3), 90, np.uint8)  # a grey desk
    h, w = code.shape
    frame[200 : 200 + h, 500 : 500 + w] = code[:, :, None]
    if angle:
        m = cv2.getRotationMatrix2D((640, 360), angle, 1.0)
        return cv2.warpAffine(frame, m, (1280, 720), borderValue=(90, 90, 90))
    return frame


def test_decodes_a_ticket_qr_in_a_bgr_frame() -> None:
    code = qr_image("BILIK:T-042:2020-05-04")
    found = decode(in_frame(code, angle=17))
    assert [(d.type, d.data) for d in found] == [("QRCODE", "BILIK:T-042:2020-05-04")]
    xs = [x for x, _ in found[0].polygon]
    assert len(found[0].polygon) >= 4 and min(xs) > 450 and max(xs) < 900


def test_decodes_utf8_text() -> None:
    found = decode(qr_image("Antrean nomor 7 — silakan ke bilik 3 ✓"))
    assert found[0].data == "Antrean nomor 7 — silakan ke bilik 3 ✓"
    assert isinstance(found[0], Decoded)


def test_no_code_gives_empty_list() -> None:
    rng = np.random.default_rng(3)
    assert decode(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) == []


def test_symbology_filter() -> None:
    code = qr_image("only qr")
    assert decode(code, symbols=["qrcode"])[0].data == "only qr"
    assert decode(code, symbols=["EAN13"]) == []
    with pytest.raises(ValueError, match="unknown symbology 'NOPE'"):
        decode(code, symbols=["NOPE"])


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"\x89PNG...", "numpy array, got bytes"),
        (np.zeros((10, 10), np.float64), "uint8"),
        (np.zeros((10, 10, 5), np.uint8), "shape"),
        (np.zeros((0, 10), np.uint8), "empty"),
        (np.zeros(100, np.uint8), "shape"),
    ],
)
def test_garbage_input_is_a_clear_value_error(frame: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode(frame)

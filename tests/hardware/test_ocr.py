"""OCR reads the NIK and names from generated documents with known NIKs and names, checks
the NIK's structure, and the documents of a claim are compared with each other."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from bilik.documents import kind
from hardware.ocr import MismatchKind, Reader, mismatches, pension_age
from hardware.ocr.command import run
from hardware.quality import judge
from hardware.quality.drawing import Person, draw
from hardware.quality.scenes import render

TODAY = dt.date(2026, 12, 7)
SITI = Person("3171234506780001", "SITI RAHAYU")  # a woman born 5 June 1978
BUDI = Person("3171231203750002", "BUDI SANTOSO")
DEWI = Person("3171235010050003", "DEWI LESTARI")


@pytest.fixture(scope="module")
def reader() -> Iterator[Reader]:
    r = Reader(today=lambda: TODAY)
    yield r
    r.close()


def _doc(name: str, people: list[Person], px_per_mm: float, seed: int = 1) -> np.ndarray:
    return draw(kind(name), np.random.default_rng(seed), px_per_mm=px_per_mm, people=people)


@pytest.mark.parametrize("name", ["ktp", "membership"])
def test_the_cards_nik_and_name_are_read(reader: Reader, name: str) -> None:
    reading = reader.read(_doc(name, [SITI], 9.0), kind(name))
    assert reading.ok, reading.problems
    assert reading.value("nik") == SITI.nik and reading.value("name") == SITI.name
    assert reading.fields["nik"].confidence > 60


def test_every_member_row_of_the_family_card_is_read(reader: Reader) -> None:
    reading = reader.read(_doc("kk", [BUDI, SITI, DEWI], 5.0), kind("kk"))
    assert reading.ok, reading.problems
    assert [(p.nik, p.name) for p in reading.people] == [
        (BUDI.nik, BUDI.name), (SITI.nik, SITI.name), (DEWI.nik, DEWI.name)]


def test_a_letter_laid_sideways_is_read_upright(reader: Reader) -> None:
    reading = reader.read(_doc("termination", [SITI], 5.0), kind("termination"))
    assert reading.ok and reading.value("name") == SITI.name


def test_a_nik_of_wrong_structure_is_refused_with_the_reason(reader: Reader) -> None:
    forged = Person("3171237206780001", "SITI RAHAYU")  # day 72 - 40 = 32
    reading = reader.read(_doc("ktp", [forged], 9.0), kind("ktp"))
    assert reading.value("nik") == forged.nik
    assert not reading.ok and reading.problems[0].startswith("nik_invalid")
    assert "no birth date" in reading.problems[0]


def test_a_blurred_card_has_no_nik_to_read(reader: Reader) -> None:
    card = cv2.GaussianBlur(_doc("ktp", [SITI], 9.0), (0, 0), 6)
    reading = reader.read(card, kind("ktp"))
    assert not reading.ok and any(p.startswith("nik_") for p in reading.problems)


def test_a_camera_frame_is_straightened_then_read(reader: Reader) -> None:
    frame = render(kind("ktp"), "1080p", "sharp", 0, np.random.default_rng(4))
    verdict = judge(frame, "ktp")
    assert verdict.passed
    reading = reader.read(verdict.capture_image(), kind("ktp"))
    assert reading.ok, reading.problems
    assert len(reading.value("nik")) == 16


def test_documents_that_do_not_fit_each_other_are_flagged(reader: Reader) -> None:
    ktp = reader.read(_doc("ktp", [SITI], 9.0), kind("ktp"))
    kk_without_her = reader.read(_doc("kk", [BUDI, DEWI], 5.0), kind("kk"))
    card_of_another = reader.read(_doc("membership", [BUDI], 9.0), kind("membership"))
    flags = mismatches({"ktp": ktp, "kk": kk_without_her, "membership": card_of_another},
                       service="jp", today=TODAY)
    kinds = {f.kind for f in flags}
    assert kinds == {MismatchKind.NIK_NOT_ON_KK, MismatchKind.NIK_DIFFERS,
                     MismatchKind.NAME_DIFFERS, MismatchKind.TOO_YOUNG_FOR_PENSION}
    young = next(f for f in flags if f.kind is MismatchKind.TOO_YOUNG_FOR_PENSION)
    assert "48 years old" in young.detail and "59" in young.detail
    kk_with_her = reader.read(_doc("kk", [BUDI, SITI], 5.0), kind("kk"))
    own_card = reader.read(_doc("membership", [SITI], 9.0), kind("membership"))
    assert mismatches({"ktp": ktp, "kk": kk_with_her, "membership": own_card},
                      service="jht", today=TODAY) == []


def test_pension_age_rises_every_three_years() -> None:
    assert [pension_age(y) for y in (2015, 2019, 2022, 2025, 2026, 2043, 2060)] == [
        56, 57, 58, 59, 59, 65, 65]


def test_ocr_command_reports_fields_per_image(tmp_path: Path, reader: Reader) -> None:
    good = tmp_path / "ktp.jpg"
    cv2.imwrite(str(good), _doc("ktp", [SITI], 9.0))
    bad = tmp_path / "junk.jpg"
    bad.write_bytes(b"not a picture")
    out = io.StringIO()
    code = run([str(good), str(bad)], True, out, "ktp", reader=reader)
    assert code == 2
    doc = json.loads(out.getvalue())
    first, second = doc["results"]
    assert (first["path"], first["verdict"], first["source"]) == (str(good), "accept", "document")
    assert first["fields"]["nik"]["value"] == SITI.nik and first["fields"]["nik"]["confidence"] > 0
    assert second["verdict"] == "unreadable"


@pytest.mark.parametrize(
    ("name", "size"),
    [(k, "1080p") for k in ("ktp", "membership", "kk", "termination", "bank_book")]
    + [("ktp", "8mp"), ("kk", "8mp")],
)
def test_every_kind_captured_from_a_camera_frame_is_read(
        reader: Reader, name: str, size: str) -> None:
    people = [SITI, BUDI, DEWI]
    frame = render(kind(name), size, "sharp", 0, np.random.default_rng(12), people)
    verdict = judge(frame, name)
    assert verdict.passed, verdict.reasons
    reading = reader.read(verdict.capture_image(), kind(name))
    assert reading.ok, reading.problems
    assert reading.value("name") == SITI.name
    if "nik" in kind(name).fields:
        assert reading.value("nik") == SITI.nik
    if kind(name).rows:
        assert [p.nik for p in reading.people] == [p.nik for p in people]

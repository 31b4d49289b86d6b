"""Document kinds and checklists as data: the packaged files are valid and bad data is a
clear error naming where it is wrong."""

from __future__ import annotations

import pytest

from bilik.documents import (
    DocumentDataError,
    Material,
    Orientation,
    UnknownDocumentKind,
    kind,
    kinds,
    require_checklists,
)
from bilik.documents.claims import parse_checklists
from bilik.documents.kinds import parse_kinds


def test_the_claims_documents_have_their_real_sizes() -> None:
    assert (kind("ktp").width_mm, kind("ktp").height_mm) == (85.6, 53.98)  # ID-1
    assert kind("membership").material is Material.CARD
    kk = kind("kk")
    assert (kk.long_mm, kk.short_mm, kk.material) == (297.0, 210.0, Material.PAPER)
    assert kind("termination").orientation is Orientation.PORTRAIT
    assert kind("bank_book").material is Material.PAPER
    # Print on a page needs fewer pixels per millimetre than the ID card's small print.
    assert kind("kk").px_per_mm_for(8) < kind("ktp").px_per_mm_for(8)


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(UnknownDocumentKind, match="known kinds: ktp"):
        kind("passport")


def test_require_checklists_names_every_missing_service() -> None:
    require_checklists(["jht", "jp", "jkk", "jkm"])
    with pytest.raises(LookupError, match="jkp, jx"):
        require_checklists(["jht", "jkp", "jx"])


GOOD = """
[card]
id = "Kartu"
en = "Card"
width_mm = 85.6
height_mm = 53.98
material = "card"
orientation = "landscape"
placement = "landscape"
smallest_print_mm = 1.5
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("85.6", "-1"), "kinds.card.width_mm: -1 is outside"),
        (('"card"\norientation', '"vellum"\norientation'), "material: 'vellum' is not one of"),
        (('orientation = "landscape"', 'orientation = "portrait"'), "does not fit"),
        (("smallest_print_mm = 1.5", "smallest_print_mm = 1.5\ncolour = 1"), "unknown field"),
        (("[card]", "[card"), "not valid TOML"),
    ],
)
def test_bad_kind_data_is_a_precise_error(change: tuple[str, str], message: str) -> None:
    assert parse_kinds(GOOD)["card"].aspect == pytest.approx(85.6 / 53.98)
    with pytest.raises(DocumentDataError, match=message):
        parse_kinds(GOOD.replace(*change))


def test_bad_checklist_data_is_a_precise_error() -> None:
    known = kinds()
    item = '[[jht]]\nkey = "a"\nid = "A"\nen = "A"\n'
    assert parse_checklists(item + 'document = "ktp"\n', known)["jht"][0].document == "ktp"
    with pytest.raises(DocumentDataError, match=r"claims.jht\[0\].document: 'passport'"):
        parse_checklists(item + 'document = "passport"\n', known)
    with pytest.raises(DocumentDataError, match="used twice"):
        parse_checklists(item + item, known)
    with pytest.raises(DocumentDataError, match="when: expected"):
        parse_checklists(item + 'when = "sometimes"\n', known)

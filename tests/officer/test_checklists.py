"""Checklists keyed by the queue's service codes, each with its own documents; kinds named."""

from __future__ import annotations

import pytest

from bilik.documents import MissingChecklist
from officer import checklists
from signaling.queue.rules import DEFAULT_SERVICES


def test_every_service_the_queue_offers_has_its_own_checklist() -> None:
    assert set(DEFAULT_SERVICES) <= set(checklists.CHECKLISTS)
    lists = {s: checklists.documents_for(s) for s in DEFAULT_SERVICES}
    # A pensioner is not asked for a termination letter; the heir of a death claim brings the
    # death certificate; the accident claim the accident report.
    assert "termination" in lists["jht"] and "termination" not in lists["jp"]
    assert "pension_form" in lists["jp"]
    assert "death_certificate" in lists["jkm"] and "heir_letter" in lists["jkm"]
    assert "accident_report" in lists["jkk"] and "doctor_letter" in lists["jkk"]
    assert len({tuple(v) for v in lists.values()}) == len(lists)  # no list stands in for another


def test_a_service_without_a_checklist_is_an_error_not_the_jht_list() -> None:
    with pytest.raises(MissingChecklist, match="jkp"):
        checklists.documents_for("jkp")
    with pytest.raises(MissingChecklist):
        checklists.checklist_for("old_age_savings")


def test_every_kind_a_booth_is_asked_for_has_a_name_in_both_languages() -> None:
    for service in checklists.CHECKLISTS:
        for kind in checklists.documents_for(service):
            name = checklists.document_name(kind)
            assert name is not None, kind
            indonesian, english = name
            assert indonesian and english and indonesian != kind


def test_known_kind_shows_its_name_unknown_kind_shows_raw() -> None:
    assert checklists.document_label("ktp") == "KTP (kartu tanda penduduk) / National ID card"
    assert checklists.document_label("bank_book").startswith("Buku tabungan")
    assert checklists.document_name("surat_kuasa") is None
    assert checklists.document_label("surat_kuasa") == "surat_kuasa"


def test_console_json_lists_every_service_and_the_kinds() -> None:
    data = checklists.as_json()
    assert set(data["checklists"]) == set(checklists.CHECKLISTS)  # type: ignore[arg-type]
    assert data["kinds"]["kk"]["width_mm"] == 297.0  # type: ignore[index]

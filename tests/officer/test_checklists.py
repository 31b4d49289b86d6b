"""Document kinds get the checklist's human names; an unknown kind stays as it came."""

from __future__ import annotations

from officer import checklists


def test_every_kind_a_booth_is_asked_for_has_a_name_in_both_languages() -> None:
    for service in checklists.CHECKLISTS:
        for kind in checklists.documents_for(service):
            name = checklists.document_name(kind)
            assert name is not None, kind
            indonesian, english = name
            assert indonesian and english and indonesian != kind


def test_known_kind_shows_its_name_unknown_kind_shows_raw() -> None:
    assert checklists.document_label("ktp") == "KTP (kartu tanda penduduk) / National ID card"
    assert checklists.document_label("bank_book") == "Buku tabungan / Bank book"
    assert checklists.document_name("surat_kuasa") is None
    assert checklists.document_label("surat_kuasa") == "surat_kuasa"

"""What the officer checks per claim type, and the outcome codes of a decision: one place.

The outcome codes are the branch server's (:data:`signaling.cases.OUTCOMES`), which
records and validates them; the console shows them with these labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from signaling.cases import OUTCOMES as SERVER_OUTCOMES


@dataclass(frozen=True)
class Item:
    key: str  # recorded with the decision
    label_id: str
    label_en: str
    document: str = ""  # the booth's document kind scanned for this item; "" = none


CHECKLISTS: dict[str, tuple[Item, ...]] = {
    # Old-age savings withdrawal: about 95 % of the claims at a branch.
    "old_age_savings": (
        Item("id_card", "KTP (kartu tanda penduduk)", "National ID card", "ktp"),
        Item("family_card", "Kartu keluarga", "Family card", "kk"),
        Item("membership_card", "Kartu peserta", "Membership card", "membership"),
        Item("termination_letter", "Surat keterangan berhenti bekerja", "Termination letter",
             "termination"),
        Item("bank_book", "Buku tabungan", "Bank book", "bank_book"),
    ),
    "pension": (
        Item("id_card", "KTP (kartu tanda penduduk)", "National ID card", "ktp"),
        Item("family_card", "Kartu keluarga", "Family card", "kk"),
        Item("membership_card", "Kartu peserta", "Membership card", "membership"),
        Item("bank_book", "Buku tabungan", "Bank book", "bank_book"),
    ),
}
DEFAULT_CLAIM = "old_age_savings"

OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "approved": ("Disetujui", "Approved"),
    "rejected_documents": ("Dokumen ditolak", "Documents rejected"),
    "incomplete": ("Belum lengkap", "Incomplete"),
    "referred": ("Diteruskan", "Referred"),
}
OUTCOMES: tuple[str, ...] = tuple(SERVER_OUTCOMES)


def checklist_for(service: str) -> tuple[Item, ...]:
    """The checklist of a claim type; the old-age savings one when the type is unknown."""
    return CHECKLISTS.get(service, CHECKLISTS[DEFAULT_CLAIM])


def documents_for(service: str) -> list[str]:
    """The document kinds the booth is asked to scan for a claim type (booth.kind_* names)."""
    return [i.document for i in checklist_for(service) if i.document]


def document_name(kind: str) -> tuple[str, str] | None:
    """The human name (Indonesian, English) of a booth's document kind, e.g. ``"ktp"``;
    ``None`` for a kind no checklist knows (the console then shows the raw kind)."""
    for items in CHECKLISTS.values():
        for item in items:
            if item.document and item.document == kind:
                return item.label_id, item.label_en
    return None


def document_label(kind: str) -> str:
    """``"KTP (kartu tanda penduduk) / National ID card"``, or the raw kind if unknown."""
    name = document_name(kind)
    return kind if name is None else f"{name[0]} / {name[1]}"


def as_json() -> dict[str, object]:
    return {
        "default": DEFAULT_CLAIM,
        "checklists": {
            name: [{"key": i.key, "id": i.label_id, "en": i.label_en} for i in items]
            for name, items in CHECKLISTS.items()
        },
        "outcomes": [
            {"code": code, "id": OUTCOME_LABELS.get(code, (code, code))[0],
             "en": OUTCOME_LABELS.get(code, (code, code))[1]}
            for code in OUTCOMES
        ],
    }

"""What the officer checks per claim, and the outcome codes of a decision: one place.

The checklists and the document kinds are data (:mod:`bilik.documents`, one source for the
booth, the branch server and this console), keyed by the queue's own service codes (``jht``,
``jp``, ``jkk``, ``jkm``). A service without a list is :class:`~bilik.documents.MissingChecklist`,
never another service's list. The outcome codes are the branch server's
(:data:`signaling.cases.OUTCOMES`), which records and validates them; the console shows them
with these labels.
"""

from __future__ import annotations

from bilik import documents
from bilik.documents import ChecklistItem as Item
from bilik.documents import MissingChecklist
from signaling.protocol import OUTCOME_CODES as SERVER_OUTCOMES

__all__ = [
    "CHECKLISTS",
    "DEFAULT_CLAIM",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "Item",
    "MissingChecklist",
    "as_json",
    "checklist_for",
    "document_label",
    "document_name",
    "documents_for",
]

CHECKLISTS: dict[str, tuple[Item, ...]] = documents.checklists()
# Only for a booth that reports no service at all (a technician's test session): the queue
# routes every participant with one of its service codes, each of which has its own list
# (the branch server refuses to start otherwise).
DEFAULT_CLAIM = "jht"

OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "approved": ("Disetujui", "Approved"),
    "rejected_documents": ("Dokumen ditolak", "Documents rejected"),
    "incomplete": ("Belum lengkap", "Incomplete"),
    "referred": ("Diteruskan", "Referred"),
}
OUTCOMES: tuple[str, ...] = tuple(SERVER_OUTCOMES)


def checklist_for(service: str) -> tuple[Item, ...]:
    """The checklist of a service code; :class:`MissingChecklist` when it has none."""
    return documents.checklist(service)


def documents_for(service: str) -> list[str]:
    """The document kinds the booth is asked to scan for a service, in checklist order."""
    return documents.documents_to_scan(service)


def document_name(kind: str) -> tuple[str, str] | None:
    """The human name (Indonesian, English) of a document kind, e.g. ``"ktp"``; ``None`` for
    a kind the data does not know (the console then shows the raw kind)."""
    found = documents.kinds().get(kind)
    return None if found is None else (found.id, found.en)


def document_label(kind: str) -> str:
    """``"KTP (kartu tanda penduduk) / National ID card"``, or the raw kind if unknown."""
    name = document_name(kind)
    return kind if name is None else f"{name[0]} / {name[1]}"


def as_json() -> dict[str, object]:
    return {
        "default": DEFAULT_CLAIM,
        "checklists": {
            name: [i.as_json() for i in items] for name, items in CHECKLISTS.items()
        },
        "kinds": {name: k.as_json() for name, k in documents.kinds().items()},
        "outcomes": [
            {"code": code, "id": OUTCOME_LABELS.get(code, (code, code))[0],
             "en": OUTCOME_LABELS.get(code, (code, code))[1]}
            for code in OUTCOMES
        ],
    }

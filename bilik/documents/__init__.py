"""The documents of a claim as data: their kinds (size, material, print) and the checklist of
each service. One source for the booth, the quality gate, the officer's checklists and the
branch server, which serves them (``GET /api/document-kinds``).

Data: ``kinds.toml`` and ``claims.toml`` beside this module; see docs/quality.md.
"""

from bilik.documents.claims import (
    ChecklistItem,
    MissingChecklist,
    as_json,
    checklist,
    checklists,
    documents_to_scan,
    require_checklists,
)
from bilik.documents.kinds import (
    DEFAULT_KIND,
    DocumentDataError,
    DocumentKind,
    Material,
    Orientation,
    UnknownDocumentKind,
    kind,
    kinds,
)

__all__ = [
    "DEFAULT_KIND",
    "ChecklistItem",
    "DocumentDataError",
    "DocumentKind",
    "Material",
    "MissingChecklist",
    "Orientation",
    "UnknownDocumentKind",
    "as_json",
    "checklist",
    "checklists",
    "documents_to_scan",
    "kind",
    "kinds",
    "require_checklists",
]

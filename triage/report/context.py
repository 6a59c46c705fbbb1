"""What the report step is given by the run: the case's names, where to write, and what the run made for it.

The report reads the case store and this, nothing else: not the run's options, not the evidence (thumbnails
are made by the run, triage/enrich/thumbnails.py), so the layers run one way (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triage.enrich.thumbnails import Thumbnails


@dataclass
class ReportContext:
    out: Path  # the output folder (the bundle's payload)
    case: str = ""
    exhibit: str = ""
    examiner: str = ""
    case_records: bool = False  # also case-records.jsonld (every record as CASE/UCO)
    thumbnails: Thumbnails | None = None  # pictures of the evidence's photos, made by the run
    declarations: Any = None  # triage.addenda.declarations.DeclarationsView: printed into the statement

    @property
    def case_names(self) -> dict[str, str]:
        return {"case": self.case, "exhibit": self.exhibit, "examiner": self.examiner}

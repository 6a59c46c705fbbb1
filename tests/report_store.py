"""A case store filled by hand, and the report step run on it: report tests without a phone image.

The records are those a run would store (same classes, same fields); `write_report` is the run's own
report step, so every output (index.html, report.pdf, findings.json, records/, CSV, KML/GeoJSON,
case.jsonld) is the real one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.integrity.custody import CustodyLog
from triage.model.records import Base, Contact, EvidenceItem, Finding, Location, MediaFile, Message, Party, SourceFile
from triage.store import CaseStore

EXAMINER = "Hardening Test Examiner"
WHEN = datetime(2025, 5, 14, 17, 2, 11, tzinfo=UTC)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ReportStore:
    """A new output folder with its case store and custody log, as a run has them before its report."""

    def __init__(self, out: Path, evidence_source: str = "/evidence/phone.zip") -> None:
        out.mkdir(parents=True)
        self.out = out
        self.store = CaseStore.in_folder(out)
        self.custody = CustodyLog(out / "custody.jsonl", actor=EXAMINER)
        self.custody.record("run started", tool="mobile-triage", operator=EXAMINER)
        self.evidence_source = evidence_source

    def add(self, record: Base) -> Any:
        self.store.add(record)
        self.store.flush()
        return record

    def source(self, path: str, status: str = "parsed", records: int = 1, parser: str = "android_sms") -> SourceFile:
        return self.add(
            SourceFile(
                path=path,
                layers=[],
                provenance=f"zip phone.zip → {path}",
                sha256=sha256_text(path),
                parser=parser,
                status=status,
                record_count=records,
                size=4096,
            )
        )

    def message(self, source: SourceFile, body: str, counterpart: str = "+447700900123", row: int = 1) -> Message:
        return self.add(
            Message(
                app="sms",
                thread="1",
                direction="incoming",
                counterpart=counterpart,
                sender=counterpart,
                body=body,
                time_utc=WHEN,
                time_raw=1747242131530,
                time_encoding="unix_ms",
                source_file_id=source.id,
                source_table="sms",
                source_row=str(row),
            )
        )

    def contact(self, source: SourceFile, name: str, numbers: list[str]) -> Contact:
        contact = self.add(
            Contact(
                app="contacts",
                name=name,
                phone_numbers=numbers,
                source_file_id=source.id,
                source_table="raw_contacts",
                source_row="1",
            )
        )
        self.add(
            Party(
                key=numbers[0],
                e164=numbers[0],
                region="GB",
                basis="the number itself",
                ambiguous=False,
                candidates=[],
                names=[name],
                apps=["contacts"],
                raw_forms=numbers,
                refs=[{"type": "contact", "id": contact.id, "field": "phone_numbers", "raw": numbers[0]}],
            )
        )
        return contact

    def media(self, source: SourceFile, path: str, sha256: str) -> MediaFile:
        return self.add(
            MediaFile(
                path=path,
                name=path.rsplit("/", 1)[-1],
                size=1234,
                sha256=sha256,
                source_file_id=source.id,
                source_offset=0,
            )
        )

    def location(self, source: SourceFile, label: str, latitude: float = 50.95, longitude: float = 1.85) -> Location:
        return self.add(
            Location(
                origin="whatsapp shared location",
                latitude=latitude,
                longitude=longitude,
                time_utc=WHEN,
                time_raw=1747242131530,
                time_encoding="unix_ms",
                label=label,
                source_file_id=source.id,
                source_table="message_location",
                source_row="1",
            )
        )

    def cite(self, record: Any, source: SourceFile, title: str = "Test indicator") -> Finding:
        ref = {
            "type": record.record_type,
            "id": record.id,
            "provenance": source.provenance,
            "sha256": source.sha256,
            "table": getattr(record, "source_table", None),
            "row": getattr(record, "source_row", None),
            "offset": getattr(record, "source_offset", None),
        }
        return self.add(
            Finding(
                rule_id="TST-01",
                rule_version="1",
                severity="MEDIUM",
                title=title,
                explanation=f"{record.record_type} #{record.id} cited by the test",
                evidence=[ref],
                time_utc=WHEN,
                family="test",
            )
        )

    def write(
        self,
        files_selected: int | None = None,
        evidence_files: dict[str, str] | None = None,
        thumbnails: Any = None,
        finished: Any = None,
    ) -> Path:
        """The report step, as the run calls it after parsing and rules; returns index.html. `thumbnails`: the
        pictures the run would have made (triage.enrich.thumbnails.Thumbnails), already in the out folder;
        `finished`: what the run hands the files the step will not write again (the bundle's zip)."""
        from rules.engine import load_pack
        from triage.report import write_report
        from triage.report.context import ReportContext

        if files_selected is not None:
            self.custody.record("files selected for parsing", files=files_selected, by_parser={})
        before = evidence_files or {self.evidence_source: "ab" * 32}
        self.add(
            EvidenceItem(
                source=self.evidence_source,
                kind="zip",
                container_files=list(before),
                media={
                    "size": 1000,
                    "md5": "0" * 32,
                    "sha1": "1" * 40,
                    "sha256": "ab" * 32,
                    "stored": {},
                    "headers": {},
                    "read_errors": [],
                    "verified": None,
                },
                files_sha256_before=before,
                files_sha256_after=before,
                unchanged=True,
            )
        )
        self.store.commit()
        ctx = ReportContext(out=self.out, case="CASE-H", exhibit="EXH-H", examiner=EXAMINER, thumbnails=thumbnails)
        try:
            return write_report(self.store, ctx, load_pack(), self.custody, finished=finished).index
        finally:
            self.store.commit()
            self.store.close()

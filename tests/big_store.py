"""A large case store made quickly: N messages (and a phone's worth of contacts, positions and findings)
bulk-inserted through CaseStore.insert, as a run's parsers store them. For the exporters' memory test.

`python -m tests.big_store export STORE OUT` reopens such a store and runs every exporter of the report
step on it, then prints the process's peak RSS (VmHWM, KiB: tests/peak_memory.py) as JSON: the test runs it in a child
process so that the peak it measures is the exporters' own.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.peak_memory import peak_rss_kib
from triage.model.records import Contact, CustodyEvent, Device, EvidenceItem, Finding, Location, Message, SourceFile
from triage.store import CaseStore

START = datetime(2024, 3, 1, tzinfo=UTC)
WORDS = ("boat", "tonight", "beach", "money", "call", "me", "when", "ready", "the", "car", "is", "waiting")


def body(n: int) -> str:
    """A message text of 40–120 characters that differs from row to row."""
    words = [WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(8 + n % 12)]
    return f"{n}: " + " ".join(words)


def fill(folder: Path, messages: int, contacts: int = 3000, locations: int = 3400) -> CaseStore:
    """A committed case store in `folder` (case.sqlite, the folder made if need be) with the given numbers
    of records; four findings cite two messages, a position and a contact."""
    folder.mkdir(parents=True, exist_ok=True)
    store = CaseStore.in_folder(folder)
    sms = SourceFile(
        path="/data/data/com.android.providers.telephony/databases/mmssms.db",
        layers=[],
        provenance="zip phone.zip → mmssms.db",
        sha256="ab" * 32,
        parser="android_sms",
        record_count=messages,
    )
    book = SourceFile(
        path="/data/data/com.android.providers.contacts/databases/contacts2.db",
        layers=[],
        provenance="zip phone.zip → contacts2.db",
        sha256="cd" * 32,
        parser="android_contacts",
        record_count=contacts,
    )
    store.add(sms)
    store.add(book)
    store.flush()
    store.insert(
        Device(manufacturer="Test", model="Phone 1", serial="SER123", imei=["356938035643809"], source_file_id=book.id)
    )
    for n in range(messages):
        store.insert(
            Message(
                app="sms",
                thread=str(n % 500),
                direction="incoming" if n % 2 else "outgoing",
                counterpart=f"+4477009{n % 2000:05d}",
                sender=None,
                body=body(n),
                time_utc=START + timedelta(seconds=37 * n),
                time_raw=1709251200000 + 37000 * n,
                time_encoding="unix_ms",
                source_file_id=sms.id,
                source_table="sms",
                source_row=str(n + 1),
            )
        )
    for n in range(contacts):
        store.insert(
            Contact(
                app="contacts",
                name=f"Contact {n}",
                phone_numbers=[f"+4477009{n % 2000:05d}"],
                source_file_id=book.id,
                source_table="raw_contacts",
                source_row=str(n + 1),
            )
        )
    for n in range(locations):
        store.insert(
            Location(
                origin="whatsapp shared location",
                latitude=50.9 + n * 1e-5,
                longitude=1.8 + n * 1e-5,
                time_utc=START + timedelta(minutes=n),
                label=f"pin {n}",
                source_file_id=sms.id,
                source_table="message_location",
                source_row=str(n + 1),
            )
        )
    store.commit()
    for n, (kind, id_) in enumerate((("message", 1), ("message", messages // 2), ("location", 7), ("contact", 3))):
        store.add(
            Finding(
                rule_id=f"TST-{n}",
                rule_version="1",
                severity="MEDIUM",
                title="Test indicator",
                explanation=f"{kind} #{id_} cited by the test",
                time_utc=START,
                evidence=[{"type": kind, "id": id_, "provenance": sms.provenance, "sha256": sms.sha256}],
            )
        )
    store.add(
        EvidenceItem(
            source="/evidence/phone.zip",
            kind="zip",
            container_files=["/evidence/phone.zip"],
            media={"size": 1000, "sha256": "ef" * 32},
            files_sha256_before={},
        )
    )
    store.add(
        CustodyEvent(
            seq=0, time_utc=START, actor="test", action="run started", details={}, prev_sha256="0" * 64, sha256="1" * 64
        )
    )
    store.commit()
    return store


def export(store_path: Path, out: Path) -> dict[str, int]:
    """Every exporter of the report step, as triage/report/__init__.py calls them; the peak RSS after."""
    from triage.report.case_export import write_case
    from triage.report.export import write_records
    from triage.report.geo_export import write_geo
    from triage.report.tables import write_record_tables, write_schedules

    store = CaseStore(f"sqlite:///{store_path}", finished=True)  # the test's own filled store, opened again
    out.mkdir(parents=True)
    write_records(store, out / "records")
    write_record_tables(store, out / "records")
    write_schedules(store, out)
    write_geo(store, out)
    write_case(store, {"case": "BIG", "exhibit": "EXH-BIG", "examiner": "Test"}, out / "case.jsonld")
    store.close()
    return {"max_rss_kib": peak_rss_kib()}


if __name__ == "__main__":
    if sys.argv[1] == "fill":
        fill(Path(sys.argv[2]), int(sys.argv[3])).close()
    elif sys.argv[1] == "export":
        print(json.dumps(export(Path(sys.argv[2]), Path(sys.argv[3]))))

"""A small case store whose every field shown on the paged listings holds hostile or awkward values (bidi
overrides, NUL, markup, huge texts, long lists, odd times, numbers where text is expected), and the report's
pages, front page and print HTML written from it with the report step's own functions.

Used by tests/report/test_pages_rows.py; also a script (`python -m tests.pages_hostile OUT`) to keep one version's
output for a byte comparison with another.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.report_store import ReportStore
from triage.model.records import (
    Account,
    Call,
    Contact,
    Location,
    MediaFile,
    Message,
    ParseWarning,
    Party,
    Payment,
    SourceFile,
)

UTC = UTC
HOSTILE = [
    "plain",
    "<b>&'\"</b>",
    "\u202eexe.jpg",
    "nul\x00here",
    "e\u0301" * 120,
    "\u0085nel\ufeffbom\u2066iso",
    "line\nbreak\ttab",
    "café ☕",
    "١٢٣ عربى",
    "x" * 260,
    "y" * 4300,
    "",
    "{{ 7*7 }}",
    "1.0",
]
TIMES = [
    datetime(2025, 3, 30, 0, 59, 59, 999999, tzinfo=UTC),
    datetime(2025, 3, 30, 1, tzinfo=UTC),
    datetime(2025, 10, 26, 0, 59, tzinfo=UTC),
    datetime(2025, 10, 26, 1, 0, 0, 500, tzinfo=UTC),
    datetime(1911, 3, 10, 23, 59, 30, tzinfo=UTC),
    datetime(999, 12, 31, 23, 15, tzinfo=UTC),
    datetime(2025, 5, 14, 17, 2, 11, 530000, tzinfo=UTC),
    datetime(2025, 5, 14, 17, 2, 11, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2041, 6, 30, 22, 30, 15, 1000, tzinfo=UTC),
    None,
]


def _h(i: int) -> str:
    return HOSTILE[i % len(HOSTILE)]


def fill(rs: ReportStore) -> None:
    """Records of every kind the pages list, each field cycling through HOSTILE and each time through TIMES."""
    plain = rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db")
    odd = rs.source("/sdcard/\u202efdp.exe\x00<i>" + "z" * 1100, status="not parsed", parser="<none>")
    sources = [plain, odd, rs.source("/data/x/" + "١٢٣", status="parsed with warnings")]
    for i in range(60):
        t = TIMES[i % len(TIMES)]
        src = sources[i % 3]
        raw = [1747242131530, "2025:05:14 17:02:11", _h(i), None, 12.5, True][i % 6]
        rs.add(
            Message(
                app=["sms", "whatsapp", _h(i)][i % 3],
                thread=[None, "7", _h(i)][i % 3],
                direction=["incoming", "outgoing", "draft", _h(i)][i % 4],
                counterpart=[None, "+447700900123", _h(i)][(i // 3) % 3],
                sender=[None, _h(i + 1)][i % 2],
                body=[None, _h(i), _h(i + 3)][i % 3],
                time_utc=t,
                time_raw=raw if t or i % 2 else "5 May",
                time_encoding=_h(i + 2)[:32],
                deleted=i % 5 == 0,
                extra={"translation": _h(i + 4)} if i % 4 == 0 else {"other": i},
                source_file_id=src.id if i % 7 else None,
                source_table=[None, "sms", _h(i)[:64]][i % 3],
                source_row=[None, str(i), _h(i + 5)[:64]][i % 3],
                source_offset=i * 100 if i % 2 else None,
            )
        )
        rs.add(
            Call(
                app=["phone", _h(i)][i % 2],
                direction=["missed", "outgoing", _h(i)][i % 3],
                counterpart=[None, "+447700900123", _h(i)][i % 3],
                time_utc=t,
                time_raw=raw,
                time_encoding="unix_ms",
                duration_s=[None, 12.0, 0.5, 3600.25][i % 4],
                source_file_id=src.id,
                source_table=["calls", None][i % 2],
                source_row=str(i),
            )
        )
    for i in range(14):
        items = [_h(j) for j in range(i * 5)] + [None, ""]
        rs.add(
            Contact(
                app=["contacts", _h(i)][i % 2],
                name=[None, _h(i)][i % 2 or 1],
                phone_numbers=items,
                emails=items[:3],
                handles=[] if i % 2 else [_h(i)],
                source_file_id=sources[i % 3].id,
                source_table="raw_contacts",
                source_row=_h(i)[:64],
            )
        )
        rs.add(
            Account(
                app="whatsapp",
                identifier=_h(i)[:256] or "x",
                display_name=[None, _h(i + 1)][i % 2],
                source_file_id=sources[i % 3].id,
                source_offset=i if i % 2 else None,
            )
        )
        media = rs.add(
            MediaFile(
                path="/sdcard/DCIM/" + _h(i),
                name=_h(i) or "img.jpg",
                size=[None, 1234, 10**12][i % 3],
                sha256=["ab" * 32, None, _h(i)[:64]][i % 3],
                make=[None, _h(i)][i % 2],
                model=[None, "Pixel", _h(i + 1)][i % 3],
                taken_utc=TIMES[i % len(TIMES)],
                taken_raw=[None, "2025:05:14 17:02:11", _h(i)][i % 3],
                taken_encoding=["exif_local", None][i % 2],
                extra={"origin_hint": _h(i), "gps_status": _h(i + 2)} if i % 2 else {},
                source_file_id=sources[i % 3].id,
                source_offset=0,
            )
        )
        rs.add(
            Location(
                origin=["exif", _h(i)][i % 2],
                latitude=50.95 + i / 7,
                longitude=-1.85 - i / 3,
                altitude_m=[None, 12.345, -3.0][i % 3],
                time_utc=TIMES[(i + 3) % len(TIMES)],
                time_raw=[None, 1747242131530, _h(i)][i % 3],
                time_encoding=[None, _h(i)[:32]][i % 2],
                label=[None, _h(i)][i % 2],
                media_file_id=media.id if i % 3 else None,
                source_file_id=sources[i % 3].id if i % 4 else None,
                source_table="loc",
                source_row=str(i),
            )
        )
        rs.add(
            Payment(
                method=["card", "iban", _h(i)[:64]][i % 3],
                identifier=["4111111111111111", None, _h(i)][i % 3],
                amount=[None, 1234.5, 0.004, -7.0][i % 4],
                currency=[None, "EUR", _h(i)[:8]][i % 3],
                direction=[None, "outgoing", _h(i)][i % 3],
                counterpart=[None, _h(i)][i % 2],
                context=[None, _h(i), _h(i + 10)][i % 3],
                time_utc=TIMES[(i + 5) % len(TIMES)],
                time_raw=[None, 5][i % 2],
                extra={"amount_high": 2000.0, "validation": _h(i)} if i % 2 else {},
                source_file_id=sources[i % 3].id if i % 4 else None,
                source_table=[None, "tx"][i % 2],
                source_row=[None, _h(i)[:64]][i % 2],
                source_offset=[None, 4][i % 2],
            )
        )
        refs = [
            {
                "type": ["message", "call", "contact", "message"][j % 4],
                "id": 1 + (j * 7) % 70,
                "field": _h(j),
                "raw": "r",
            }
            for j in range(i * 9)
        ]
        rs.add(
            Party(
                key=_h(i)[:64] or "k",
                e164=[None, "+447700900123", _h(i)[:32]][i % 3],
                region=[None, "GB"][i % 2],
                basis=[None, _h(i)][i % 2],
                ambiguous=i % 3 == 0,
                candidates=[_h(j) for j in range(i)],
                names=[_h(j) for j in range(i * 4)],
                apps=["sms", _h(i)],
                raw_forms=[_h(j) for j in range(i)],
                refs=refs,
            )
        )
        rs.add(
            ParseWarning(
                stage=["parse", _h(i)[:32]][i % 2],
                component=_h(i + 1)[:64],
                level="warning",
                message=_h(i + 2),
                provenance=_h(i + 3),
            )
        )


def write(out: Path) -> Path:
    """Fill a new store under `out` and write its pages (out/pages), index.html and the print HTML
    (out/print.html), with fixed run times: two versions of the code write the same bytes."""
    from rules.engine import load_pack
    from triage.integrity.exclusive import write_text_exclusive
    from triage.report.findings import build_findings
    from triage.report.html import build_report, write_html
    from triage.report.pages import write_pages
    from triage.report.pdf import pdf_unavailable, statement_html
    from triage.report.stream import ensure_indexes

    rs = ReportStore(out)
    fill(rs)
    message = rs.store.session.get(Message, 2)
    rs.cite(message, rs.store.session.get(SourceFile, 1))
    rs.store.commit()
    store, pack = rs.store, load_pack()
    case = {"case": "CASE-H", "exhibit": "EXH-H", "examiner": "Examiner"}
    run = {"started_utc": "2025-05-14T17:00:00Z", "report_utc": "2025-05-14T18:00:00Z"}
    findings = build_findings(store, case, pack, run, store.counts())
    ensure_indexes(store.session)
    report = build_report(store, findings, rs.custody.path, out, pack.zones)
    links = write_pages(store, report).links
    write_html(report, out / "index.html", links)
    write_text_exclusive(out / "print.html", statement_html(report, pdf_unavailable()))
    store.close()
    return out


if __name__ == "__main__":
    write(Path(sys.argv[1]))
    print(sys.argv[1])

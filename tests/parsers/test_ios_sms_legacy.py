"""iOS Messages before iOS 6: the wide `message` table (SMS with Unix dates; iOS 5 iMessage rows in Cocoa time)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from triage.run.loose_parse import parse_loose_file

# The iOS 4/5 sms.db layout as iOS wrote it (public copies of the CREATE TABLE statements; iOS 5 added the
# madrid_* columns for iMessage).
IOS5_DDL = [
    "CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT, UNIQUE(key))",
    "CREATE TABLE msg_group (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, type INTEGER, newest_message INTEGER, "
    "unread_count INTEGER, hash INTEGER)",
    "CREATE TABLE group_member (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, group_id INTEGER, address TEXT, country TEXT)",
    "CREATE TABLE msg_pieces (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, message_id INTEGER, data BLOB, part_id INTEGER, "
    "preview_part INTEGER, content_type TEXT, height INTEGER, version INTEGER, flags INTEGER, content_id TEXT, "
    "content_loc TEXT, headers BLOB)",
    "CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, address TEXT, date INTEGER, text TEXT, "
    "flags INTEGER, replace INTEGER, svc_center TEXT, group_id INTEGER, association_id INTEGER, height INTEGER, "
    "UIFlags INTEGER, version INTEGER, subject TEXT, country TEXT, headers BLOB, recipients BLOB, read INTEGER, "
    "madrid_attributedBody BLOB, madrid_handle TEXT, madrid_version INTEGER, madrid_guid TEXT, madrid_type INTEGER, "
    "madrid_roomname TEXT, madrid_service TEXT, madrid_account TEXT, madrid_account_guid TEXT, madrid_flags INTEGER, "
    "madrid_attachmentInfo BLOB, madrid_url TEXT, madrid_error INTEGER, is_madrid INTEGER, madrid_date_read INTEGER, "
    "madrid_date_delivered INTEGER)",
]
ROWS = [  # ROWID, address, date, text, flags, group_id, read, is_madrid, madrid_handle
    (1, "+33612345678", 1336824000, "Boat tomorrow from Calais?", 2, 1, 1, 0, None),  # 2012-05-12 12:00 UTC
    (2, "+33612345678", 1336824300, "Yes. 1500 euro", 3, 1, 1, 0, None),
    (3, "+33612345678", 1336824600, "not delivered", 35, 1, 1, 0, None),
    (4, None, 358689600, "via iMessage", 2, 2, 0, 1, "friend@example.com"),  # Cocoa: 2012-05-14 12:00 UTC
]


def build(path: Path) -> None:
    with sqlite3.connect(path) as db:
        for ddl in IOS5_DDL:
            db.execute(ddl)
        db.executemany(
            "INSERT INTO message (ROWID, address, date, text, flags, group_id, read, is_madrid, "
            "madrid_handle) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ROWS,
        )
    path.with_name(path.name + "-journal").unlink(missing_ok=True)


def test_pre_ios6_sms_db(tmp_path: Path) -> None:
    db = tmp_path / "sms.db"
    build(db)
    records, warnings = parse_loose_file(db)
    messages = [r for r in records if r["type"] == "message"]
    assert warnings == [] and [m["provenance"]["row"] for m in messages] == ["1", "2", "3", "4"]
    first, second, failed, imessage = messages
    assert (first["direction"], first["counterpart"], first["sender"], first["app"]) == (
        "incoming",
        "+33612345678",
        "+33612345678",
        "sms",
    )
    assert (first["time_utc"], first["time_encoding"], first["time_raw"]) == (
        "2012-05-12T12:00:00Z",
        "unix_s",
        1336824000,
    )
    assert (second["direction"], second["sender"], second["body"]) == ("outgoing", None, "Yes. 1500 euro")
    assert failed["status"] == "flags 35 (send failed)" and failed["direction"] == "outgoing"
    assert (imessage["app"], imessage["counterpart"], imessage["time_encoding"], imessage["time_utc"]) == (
        "imessage",
        "friend@example.com",
        "cocoa_s",
        "2012-05-14T12:00:00Z",
    )
    assert imessage["extra"]["service"] == "iMessage" and imessage["thread"] == "2"


def test_modern_sms_db_is_not_claimed_by_the_legacy_parser(tmp_path: Path) -> None:
    """A path-matched iOS 6+ sms.db is read by ios_sms; the legacy parser's misfit is not a warning."""
    from parsers.sms.ios_sms_legacy import IosLegacySmsParser
    from triage.evidence import open_evidence
    from triage.parsing import ParseRunner

    phone = tmp_path / "phone" / "private/var/mobile/Library/SMS"
    phone.mkdir(parents=True)
    source = (
        Path(__file__).parents[2] / "fixtures" / "third_party" / "plaso" / "test_data" / "sqlite" / "imessage_chat.db"
    )
    (phone / "sms.db").write_bytes(source.read_bytes())
    warnings: list[str] = []
    with open_evidence(tmp_path / "phone") as ev:
        runner = ParseRunner(
            ev,
            tmp_path,
            on_source=lambda s: None,
            on_record=lambda r, s: None,
            on_warning=lambda *a: warnings.append(a[3]),
        )
        parsed = [runner.parse(c) for c in runner.select()]
    assert any(p and "ios_sms" in (p.parser or "") for p in parsed)
    assert not any(IosLegacySmsParser.name in w or "unknown schema" in w for w in warnings), warnings

import json
from pathlib import Path

from parsers.whatsapp.android import WhatsAppContactsParser, WhatsAppMsgstoreParser
from tests.parser_context import parse_file
from triage.model.records import Contact, Message
from triage.model.timeutil import iso

THIRD = Path(__file__).parents[2] / "fixtures" / "third_party"
EXPECTED = json.loads((THIRD / "expected_parsers.json").read_text())
PLACEHOLDER_ROWS = 1  # every msgstore has a row with key_remote_jid/key_id '-1' that is not a message


def test_legacy_msgstore_every_row_is_a_message(tmp_path, unchanged):
    db = THIRD / "lab-whatsapp/msgstore.db"
    unchanged(db)
    records, warnings = parse_file(WhatsAppMsgstoreParser(), db, tmp_path)
    rows = EXPECTED["lab-whatsapp/msgstore.db"]["sqlite"]["main_tables"]["messages"]
    assert len(records) == rows - PLACEHOLDER_ROWS and warnings == []
    by_row = {r.source_row: r for r in records}
    samples = EXPECTED["lab-whatsapp/msgstore.db"]["sqlite"]["samples"]["messages"]
    for s in samples["first"][1:] + samples["last"]:
        m = by_row[str(s["_id"])]
        assert m.time_raw == s["timestamp"] and m.source_table == "messages"
        assert (len(m.body) if m.body else None) == s["len(data)"]
        assert m.direction == ("system" if s["status"] == 6 else "outgoing" if s["key_from_me"] else "incoming")
        assert m.extra["received"]["raw"] == s["received_timestamp"]
    last = by_row["47"]
    assert last.body == "Fechadooo" and last.sender == "5511991880126@s.whatsapp.net"
    assert iso(last.time_utc) == "2018-05-18T03:04:39Z"


def test_transitional_msgstore_reads_legacy_rows_once(tmp_path):
    records, _ = parse_file(WhatsAppMsgstoreParser(), THIRD / "er-simon/msgstore.db", tmp_path)
    tables = EXPECTED["er-simon/msgstore.db"]["sqlite"]["main_tables"]
    messages = [r for r in records if isinstance(r, Message)]
    # the modern table holds only the placeholder; the 19 real messages live in the legacy table
    assert tables["message"] == 1 and len(messages) == tables["messages"] - PLACEHOLDER_ROWS
    assert len({m.extra["key_id"] for m in messages}) == len(messages)
    vcard = next(m for m in messages if m.source_row == "17")
    assert vcard.extra["message_type_name"] == "vcard" and vcard.body.startswith("BEGIN:VCARD")
    (card,) = [r for r in records if isinstance(r, Contact)]  # the shared card, as a contact of its own
    assert card.app == "whatsapp vcard" and card.name == "Tizio Caio WhatsApp Root Tesi"
    assert card.phone_numbers == ["+1 (949) 842-0957", "+19498420957"]  # as written, and its WhatsApp id
    assert (card.source_table, card.source_row) == ("messages", "17")
    assert card.extra["shared_in_chat"] == "393482606211@s.whatsapp.net"


def test_wa_contacts(tmp_path):
    records, _ = parse_file(WhatsAppContactsParser(), THIRD / "lab-whatsapp/wa.db", tmp_path)
    assert len(records) == EXPECTED["lab-whatsapp/wa.db"]["sqlite"]["main_tables"]["wa_contacts"]
    first = records[0]
    assert first.name == "Leonardo Nery" and first.phone_numbers[0] == "+5511991880126"
    assert first.handles == ["5511991880126@s.whatsapp.net"]


def test_cleared_chat_rows_are_reported_and_flagged_by_the_apps_own_view(tmp_path):
    """'Clear chat' on a copy of a real database: WhatsApp's available_message_view hides the rows."""
    import shutil
    import sqlite3

    db = tmp_path / "copy" / "msgstore.db"
    db.parent.mkdir()
    shutil.copyfile(THIRD / "er-simon/msgstore.db", db)
    con = sqlite3.connect(db)  # chat 2 = 393482606211@s.whatsapp.net, cleared up to row 12
    con.execute("INSERT INTO deleted_chat_job (chat_row_id, deleted_message_row_id) VALUES (2, 12)")
    con.commit()
    con.close()  # the database is in WAL mode: closing checkpoints the change into the file
    records, _ = parse_file(WhatsAppMsgstoreParser(), db, tmp_path)
    messages = {int(r.source_row): r for r in records if isinstance(r, Message)}
    hidden = {row for row, m in messages.items() if m.extra.get("hidden_by_app")}
    assert hidden == {9, 10, 11, 12}  # the cleared ones are still reported, and flagged
    assert len(messages) == 19

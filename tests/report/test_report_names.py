"""The names the report shows beside identifiers (triage/report/names.py), read from a real SQLite case store."""

from __future__ import annotations

from pathlib import Path

from tests.report_store import ReportStore
from triage.report.names import Names


def test_a_conversations_title_is_the_least_name_its_messages_carry(tmp_path: Path) -> None:
    """On SQLite the titles are read by a table scan of the messages whose JSON holds a title key at all: the least
    value of each key per conversation; a JSON text SQLite refuses (NaN) or a key quoted inside a value gives none,
    and stops nothing."""
    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/data/com.whatsapp/databases/msgstore.db", parser="whatsapp", records=7)
    extras = {
        ("whatsapp", "group-1@g.us"): [
            {"group_subject": "Zeta crossing"},
            {"group_subject": "Dunkirk May", "message_type": 0},
            {"key_id": "3A0"},
        ],
        ("whatsapp", "group-2@g.us"): [
            {"quoted": 'he wrote "group_subject" here'},
            {"group_subject": "not JSON to SQLite", "score": float("nan")},
        ],
        ("telegram", "-1001"): [{"dialog_name": "UK Crossing 🇬🇧"}, {"group_subject": "ignored: a later key"}],
    }
    row = 0
    for (app, thread), values in extras.items():
        for extra in values:
            row += 1
            message = rs.message(src, f"message {row}", row=row)
            message.app, message.thread, message.extra = app, thread, extra
    rs.store.commit()
    titles = Names(rs.store.session)._thread_titles()
    assert {key: named.text for key, named in titles.items()} == {
        ("whatsapp", "group-1@g.us"): "Dunkirk May",
        ("telegram", "-1001"): "ignored: a later key",  # the group subject is the first key looked at
    }
    assert titles[("whatsapp", "group-1@g.us")].source == "the WhatsApp group's subject, as stored with its messages"
    rs.store.close()

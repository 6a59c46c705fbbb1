"""The conversations the report lists and the names it shows beside identifiers (stream.thread_index, names.py),
read from a real SQLite case store."""

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


def test_the_conversations_are_grouped_by_thread_or_else_by_counterpart(tmp_path: Path) -> None:
    """stream.thread_index: messages with a thread by app and thread, those without one by app and counterpart (one
    conversation for those naming nobody), each with its count, first and last time and sorted counterparts."""
    from datetime import timedelta

    from tests.report_store import WHEN
    from triage.report.stream import thread_count, thread_index

    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db", records=8)
    layout = [
        ("sms", "7", "+447700900222", 0),
        ("sms", "7", "+447700900111", 5),
        ("sms", None, "+33612345678", 2),
        ("sms", None, "+33612345678", 1),
        ("sms", None, "+447700900999", 3),
        ("sms", None, None, 4),
        ("whatsapp", "7", "+447700900111", 6),
        ("whatsapp", None, "+33612345678", None),
    ]
    for row, (app, thread, counterpart, minutes) in enumerate(layout, start=1):
        message = rs.message(src, f"message {row}", counterpart="+447700900123", row=row)
        message.app, message.thread, message.counterpart = app, thread, counterpart
        message.time_utc = None if minutes is None else WHEN + timedelta(minutes=minutes)
    rs.store.commit()
    found = [
        (t.number, t.app, t.thread, t.who, t.messages, t.counterparts, t.counterpart_count)
        for t in thread_index(rs.store.session)
    ]
    assert found == [
        (1, "sms", "7", None, 2, ["+447700900111", "+447700900222"], 2),
        (2, "sms", None, "+33612345678", 2, ["+33612345678"], 1),
        (3, "sms", None, "+447700900999", 1, ["+447700900999"], 1),
        (4, "sms", None, None, 1, [], 0),
        (5, "whatsapp", "7", None, 1, ["+447700900111"], 1),
        (6, "whatsapp", None, "+33612345678", 1, ["+33612345678"], 1),  # untimed: last
    ]
    first = thread_index(rs.store.session)[1]
    assert (first.first, first.last) == (WHEN + timedelta(minutes=1), WHEN + timedelta(minutes=2))
    assert thread_count(rs.store.session) == 6
    rs.store.close()

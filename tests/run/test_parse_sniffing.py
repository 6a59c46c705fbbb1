"""A database is recognised by its tables and columns, not only by its path: a copy taken out of its app's
folder and renamed gives the same records as at its real path, and says it was recognised by schema."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.build_demo import build_sms_db
from fixtures.build_whatsapp_android import build_msgstore
from tests.bundle_layout import payload
from triage.cli import main

ROOT = Path(__file__).parents[2]
TELEGRAM = ROOT / "fixtures" / "telegram" / "cache4.db"


def copy_telegram(path: Path) -> None:
    shutil.copyfile(TELEGRAM, path)


# app -> (its path on the phone, a builder writing our fixture database there)
DATABASES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "telegram": ("data/org.telegram.messenger/files/cache4.db", copy_telegram),
    "whatsapp": ("data/com.whatsapp/databases/msgstore.db", build_msgstore),
    "sms": ("data/com.android.providers.telephony/databases/mmssms.db", build_sms_db),
}
EXPECTED_READER = {
    "telegram": "telegram_android: messages_v2 (current)",
    "whatsapp": "whatsapp_android: modern (message table, 2021+)",
    "sms": "android_sms:",
}


def parse(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Counter[str], str]:
    """`triage parse --json`: the count of each record type, and what it said on stderr."""
    assert main(["parse", "--json", str(path)]) == 0
    captured = capsys.readouterr()
    return Counter(json.loads(line)["type"] for line in captured.out.splitlines()), captured.err


@pytest.mark.parametrize("app", sorted(DATABASES))
def test_a_renamed_copy_gives_the_records_of_the_real_path(app: str, tmp_path: Path, capsys) -> None:
    device_path, make = DATABASES[app]
    real = tmp_path / "phone" / device_path
    real.parent.mkdir(parents=True)
    make(real)
    renamed = tmp_path / "exhibit" / "EXH-7_item_12.bin"  # no name or folder any parser knows
    renamed.parent.mkdir()
    shutil.copyfile(real, renamed)

    at_path, said_at_path = parse(real, capsys)
    sniffed, said_sniffed = parse(renamed, capsys)
    assert at_path["message"] > 0
    assert sniffed == at_path
    assert "recognised by schema" not in said_at_path
    (note,) = [line for line in said_sniffed.splitlines() if line.startswith("note: ")]
    assert note.startswith(f"note: {renamed.name}: recognised by schema, not path: {EXPECTED_READER[app]}")


def test_an_unknown_database_says_no_parser_recognised_it(tmp_path: Path, capsys) -> None:
    path = tmp_path / "EXH-7_item_13.bin"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE message (_id INTEGER PRIMARY KEY, body TEXT)")  # a name parsers use, not their shape
        db.execute("INSERT INTO message VALUES (1, 'hello')")
    db.close()
    assert main(["parse", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"{path.name}: no parser recognised this file, by its path or (for a database) its tables and columns "
        "(see warnings, if any)\n"
    )
    assert captured.err == ""  # at a path no parser names: nothing was expected of it, so no warning


def test_a_run_finds_a_renamed_database_inside_the_extraction(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    hidden = phone / "data" / "com.example.vault" / "files" / "blob_0007.dat"  # an app no parser knows
    hidden.parent.mkdir(parents=True)
    shutil.copyfile(TELEGRAM, hidden)
    assert main(["run", str(phone), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    with sqlite3.connect(payload(tmp_path / "out") / "case.sqlite") as db:
        sources = db.execute("SELECT path, parser, schema, status FROM source_file").fetchall()
        by_app = dict(db.execute("SELECT app, count(*) FROM message GROUP BY app").fetchall())
    db.close()
    assert sources == [
        (
            "/data/com.example.vault/files/blob_0007.dat",
            "telegram_android",
            "telegram_android: messages_v2 (current)",
            "parsed with warnings",  # the fixture's deliberately undecodable TL blobs
        )
    ]
    assert by_app == {"telegram": 17}
    custody = [json.loads(line) for line in (payload(tmp_path / "out") / "custody.jsonl").read_text().splitlines()]
    (finished,) = [e for e in custody if e["action"] == "parsing finished"]
    assert finished["details"]["recognised_by_schema"] == [
        "/data/com.example.vault/files/blob_0007.dat: telegram_android: messages_v2 (current)"
    ]

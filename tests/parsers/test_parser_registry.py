"""Parsers describe themselves (parsers/base.py), register on definition (parsers/registry.py), and the
catalogue docs/parsers.md is generated from what they declare."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from parsers import ALL_PARSERS, ParseContext, Schema, SqliteParser, catalogue, registry
from triage.cli import cli
from triage.evidence.loose import LooseFileEvidence
from triage.model.records import Base, Contact, SourceFile
from triage.parsing import ParseRunner

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "parsers.md"
THIS_FILE = "tests/parsers/test_parser_registry.py"

# The order the pipeline has always run parsers in: it decides which parser reads a shared file first
# (msgstore.db: messages, then payments), and so the record ids of every run.
ESTABLISHED_ORDER = [
    "android_sms",
    "android_mms",
    "google_messages",
    "android_contacts",
    "android_calls",
    "ios_sms",
    "ios_sms_legacy",
    "ios_contacts",
    "ios_calls",
    "whatsapp_android",
    "whatsapp_android_contacts",
    "whatsapp_ios",
    "whatsapp_ios_contacts",
    "telegram_android",
    "telegram_android_userconfig",
    "telegram_ios",
    "photo_exif",
    "video_metadata",
    "android_media_store",
    "google_photos_local",
    "ios_photos",
    "whatsapp_payments",
    "cash_app",
    "revolut",
    "wallet_stores",
    "ios_device_info",
    "android_sms_backup",
    "android_build_prop",
    "android_settings",
    "android_siminfo",
    "ios_device_info_fs",
    "android_accounts",  # default order (after the established ones); ties go by name
    "android_packages",
    "ios7_calls",
]


def test_the_pipeline_runs_the_parsers_in_the_established_order() -> None:
    assert [p.name for p in ALL_PARSERS] == ESTABLISHED_ORDER
    assert [c.name for c in registry.parser_classes()] == ESTABLISHED_ORDER


def test_every_fixture_a_parser_names_is_in_the_repository() -> None:
    named = {(c.name, path) for c in registry.parser_classes() for path in c.fixture_paths()}
    assert len(named) >= len(ESTABLISHED_ORDER)
    assert sorted((name, path) for name, path in named if not (ROOT / path).is_file()) == []


def test_every_schema_generation_of_a_committed_database_is_the_one_it_is_recognised_as() -> None:
    """A schema's fixture, when it is a database, has that generation's tables (a builder or a test that
    writes the file is checked by that test)."""
    checked = 0
    for cls in registry.parser_classes():
        for schema in getattr(cls, "schemas", ()):
            path = ROOT / schema.fixture
            if path.suffix == ".py":
                continue
            with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as db:
                assert schema.missing(db) == [], (cls.name, schema.name)
            checked += 1
    assert checked >= 15


def test_a_module_holding_one_parser_is_named_after_it() -> None:
    """`parsers/media/photo_exif.py` holds photo_exif; inside a family folder the folder may prefix the
    name (`parsers/telegram/ios.py` holds telegram_ios)."""
    by_module: dict[str, list[str]] = {}
    for cls in registry.parser_classes():
        by_module.setdefault(cls.__module__, []).append(cls.name)
    misnamed = []
    for module, names in by_module.items():
        parts = module.split(".")
        allowed = {parts[-1], "_".join(parts[-2:])}
        if len(names) == 1 and names[0] not in allowed:
            misnamed.append(f"{module}: {names[0]}")
    assert misnamed == []


def test_only_parsers_that_need_nothing_but_bytes_may_run_in_a_worker() -> None:
    bytes_only = sorted(c.name for c in registry.parser_classes() if c.bytes_only)
    assert bytes_only == ["photo_exif"]
    assert not any(issubclass(c, SqliteParser) for c in registry.parser_classes() if c.bytes_only)


def test_the_committed_catalogue_is_current() -> None:
    generated = catalogue.as_markdown(catalogue.entries())
    assert CATALOGUE.read_text(encoding="utf-8") == generated, (
        "docs/parsers.md is stale: run `triage parsers --markdown > docs/parsers.md`"
    )


def test_the_catalogue_names_each_generation_and_its_fixture() -> None:
    text = CATALOGUE.read_text(encoding="utf-8")
    assert "| modern (message table, 2021+) | message (_id, chat_row_id, from_me, key_id, timestamp); " in text
    assert "`fixtures/whatsapp_android_old/legacy/msgstore.db`" in text
    assert text.count("\n### ") == len(ESTABLISHED_ORDER)


@pytest.fixture
def notes_parser() -> Iterator[type[SqliteParser]]:
    """A parser defined in this test module, registered only while the test runs."""
    with registry.isolated():

        class ToyNotesParser(SqliteParser):
            name = "toy_notes"
            description = "Toy Notes notes.db: note authors as contacts"
            app = "Toy Notes"
            platform = "Android"
            produces = (Contact,)
            path_patterns = ("*/com.example.toynotes/databases/notes.db",)
            schemas = (
                Schema("v2 (authors table)", {"authors": {"_id", "name", "phone"}}, THIS_FILE),
                Schema("v1 (people table)", {"people": {"_id", "name"}}, THIS_FILE),
            )

            def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
                for row in db.execute("SELECT _id, name, phone FROM authors ORDER BY _id"):
                    yield Contact(
                        app="toy notes",
                        name=row["name"],
                        phone_numbers=[row["phone"]],
                        source_table="authors",
                        source_row=str(row["_id"]),
                    )

        yield ToyNotesParser
    assert "toy_notes" not in {c.name for c in registry.parser_classes()}  # gone after the test


def test_a_parser_defined_in_a_test_is_registered_listed_and_catalogued(notes_parser: type[SqliteParser]) -> None:
    assert registry.parser_classes()[-1] is notes_parser  # default order: after the established parsers
    listed = json.loads(CliRunner().invoke(cli, ["parsers", "--json"]).output)
    mine = [p for p in listed if p["name"] == "toy_notes"]
    assert mine == [
        {
            "name": "toy_notes",
            "app": "Toy Notes",
            "platform": "Android",
            "description": "Toy Notes notes.db: note authors as contacts",
            "module": __name__,
            "order": registry.DEFAULT_ORDER,
            "path_patterns": ["*/com.example.toynotes/databases/notes.db"],
            "schemas": [
                {
                    "name": "v2 (authors table)",
                    "tables": {"authors": ["_id", "name", "phone"]},
                    "fixture": "tests/parsers/test_parser_registry.py",
                },
                {
                    "name": "v1 (people table)",
                    "tables": {"people": ["_id", "name"]},
                    "fixture": "tests/parsers/test_parser_registry.py",
                },
            ],
            "produces": ["contact"],
            "bytes_only": False,
            "fixtures": [],
        }
    ]
    table = CliRunner().invoke(cli, ["parsers"]).output
    assert "toy_notes" in table and "    schema: v1 (people table): people (_id, name)" in table
    assert table.endswith(f"{len(ESTABLISHED_ORDER) + 1} parser(s)\n")
    markdown = CliRunner().invoke(cli, ["parsers", "--markdown"]).output
    assert "\n### toy_notes\n" in markdown and "| v2 (authors table) | authors (_id, name, phone) |" in markdown


def test_the_recognised_schema_is_recorded_on_the_source_file(notes_parser: type[SqliteParser], tmp_path: Path) -> None:
    db_path = tmp_path / "notes.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE authors (_id INTEGER PRIMARY KEY, name TEXT, phone TEXT)")
        db.execute("INSERT INTO authors VALUES (1, 'Ada', '+447700900123')")
    db.close()
    sources, records, warnings = _run([notes_parser()], db_path, tmp_path)
    assert [(s.parser, s.schema, s.status) for s in sources] == [
        ("toy_notes", "toy_notes: v2 (authors table)", "parsed")
    ]
    assert [(r.name, r.phone_numbers) for r in records] == [("Ada", ["+447700900123"])]
    assert warnings == []


def test_a_database_of_no_known_generation_is_refused_naming_the_nearest_one(
    notes_parser: type[SqliteParser], tmp_path: Path
) -> None:
    folder = tmp_path / "com.example.toynotes" / "databases"
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / "notes.db") as db:
        db.execute("CREATE TABLE people (_id INTEGER PRIMARY KEY)")  # v1's table without its name column
    db.close()
    shutil.copy(folder / "notes.db", tmp_path / "loose.db")
    parser = notes_parser()
    with sqlite3.connect(tmp_path / "loose.db") as db:
        assert parser.recognise(db) == (None, ["people.name"])  # v1 is nearer: its table is there
        db.execute("ALTER TABLE people ADD COLUMN name TEXT")
        schema, missing = parser.recognise(db)
        assert (schema.name if schema else None, missing) == ("v1 (people table)", [])
    db.close()


def test_whatsapp_generations_are_recorded_on_the_source_file(tmp_path: Path) -> None:
    legacy = ROOT / "fixtures" / "whatsapp_android_old" / "legacy" / "msgstore.db"
    transitional = ROOT / "fixtures" / "whatsapp_android_old" / "transitional" / "msgstore.db"
    sources, _, _ = _run(ALL_PARSERS, legacy, tmp_path)
    assert [(s.parser, s.schema) for s in sources] == [
        ("whatsapp_android", "whatsapp_android: legacy (messages table)")
    ]
    sources, _, _ = _run(ALL_PARSERS, transitional, tmp_path)  # both tables: the first declared generation
    assert [s.schema for s in sources] == ["whatsapp_android: modern (message table, 2021+)"]


def test_a_parser_missing_a_declaration_fails_when_it_is_defined() -> None:
    with registry.isolated(), pytest.raises(TypeError) as caught:

        class Undeclared(SqliteParser):
            name = "undeclared"
            platform = "Windows"

            def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
                yield from ()

    assert str(caught.value) == (
        "parser 'undeclared' (test_parser_registry.test_a_parser_missing_a_declaration_fails_when_it_is_defined."
        "<locals>.Undeclared): set `app` (the app whose files it reads); `platform` is 'Windows', not one of "
        "Android, iOS, any; set `produces` to the record classes it yields; name the fixture files that prove it "
        "(`fixtures`, or `schemas` for SQLite); set `schemas` to the Schema generations it reads"
    ).replace("test_parser_registry.", f"{__name__}.")
    assert "undeclared" not in {c.name for c in registry.parser_classes()}


def test_two_parsers_may_not_share_a_name() -> None:
    with registry.isolated(), pytest.raises(ValueError, match="two parsers are named 'android_sms'"):

        class Impostor(SqliteParser):
            name = "android_sms"
            app, platform, produces = "SMS", "Android", (Contact,)
            schemas = (Schema("x", {"x": {"y"}}, "tests/parsers/test_parser_registry.py"),)

            def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
                yield from ()

    assert registry.parser_classes()[0].__module__ == "parsers.sms.android_sms"


def test_every_module_is_found_and_a_folder_without_init_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = set(registry.module_names())
    assert {"parsers.whatsapp.android", "parsers.media.photo_exif", "parsers.telegram.ios", "parsers.base"} <= names
    fake = tmp_path / "parsers"
    (fake / "newapp").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "newapp" / "thing.py").write_text("")
    monkeypatch.setattr(registry, "__file__", str(fake / "registry.py"))
    with pytest.raises(ImportError, match="newapp holds Python files but no __init__.py"):
        registry.module_names()


def _run(parsers: tuple | list, path: Path, workdir: Path) -> tuple[list[SourceFile], list[Base], list[str]]:
    sources: list[SourceFile] = []
    records: list[Base] = []
    warnings: list[str] = []
    runner = ParseRunner(
        LooseFileEvidence(path),
        workdir,
        sources.append,
        lambda r, s: records.append(r),
        lambda stage, comp, level, msg, prov, src: warnings.append(f"{comp}: {msg}"),
        parsers=parsers,
    )
    for candidate in runner.select():
        runner.parse(candidate)
    return sources, records, warnings

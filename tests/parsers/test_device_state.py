"""Android device state: the SIM history (telephony.db siminfo, both generations), the account manager
databases (accounts.db, accounts_ce.db, accounts_de.db) and packages.list, on fixtures/build_device_state.py's
files, read through the parse runner at the paths a phone holds them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fixtures.build_device_state import (
    ACCOUNTS,
    ACCOUNTS_CE,
    ACCOUNTS_DE,
    ACCOUNTS_LEGACY,
    LEGACY_SIMS,
    PACKAGES_LIST,
    SIMS,
    TELEPHONY_DE,
    TELEPHONY_LEGACY,
    build,
)
from fixtures.deterministic import read_sums
from parsers.device.android import AndroidSimInfoParser
from parsers.device.android_accounts import AndroidAccountsParser
from parsers.device.android_packages import AndroidPackagesParser
from parsers.device.messenger_apps import messenger_of
from tests.parser_context import parse_file

ROOT = Path(__file__).parents[2]
RECENT = ROOT / "fixtures" / "device_state"
LEGACY = ROOT / "fixtures" / "device_state_legacy"


def parsed(parser, folder: Path, relative: str, workdir: Path) -> tuple[list, list[str]]:
    return parse_file(parser, folder / relative, workdir, "/" + relative)


def test_the_committed_fixtures_are_what_the_builder_makes(tmp_path: Path) -> None:
    recent, legacy = build(tmp_path)
    assert read_sums(recent) == read_sums(RECENT)
    assert read_sums(legacy) == read_sums(LEGACY)
    assert len(read_sums(RECENT)) == 4 and len(read_sums(LEGACY)) == 2


def test_siminfo_recent_generation_gives_each_card(tmp_path: Path) -> None:
    records, warnings = parsed(AndroidSimInfoParser(), RECENT, TELEPHONY_DE, tmp_path)
    assert warnings == []
    sims = [r.extra["sim"] for r in records]
    assert [s["icc_id"] for s in sims] == [
        "8944110068412345675",
        "8933012345678901231",
        "8996420001234567890",
        "8944300000123456780",
    ]
    assert [(s["mcc_string"], s["mnc_string"]) for s in sims] == [
        ("234", "15"),
        ("208", "01"),
        ("418", "20"),
        ("234", "30"),
    ]
    assert [s["imsi"] for s in sims] == [sim[8] for sim in SIMS]
    assert [s["is_embedded"] for s in sims] == [0, 0, 0, 1]
    assert [r.phone_numbers for r in records] == [
        ["+447911123456"],
        ["+33612345678"],
        ["+9647801234567"],
        ["+447400765432"],
    ]
    assert [r.source_row for r in records] == ["1", "2", "3", "4"]


def test_siminfo_first_generation_has_integer_mcc_and_no_imsi(tmp_path: Path) -> None:
    records, warnings = parsed(AndroidSimInfoParser(), LEGACY, TELEPHONY_LEGACY, tmp_path)
    assert warnings == []
    sims = [r.extra["sim"] for r in records]
    assert [(s["icc_id"], s["mcc"], s["mnc"]) for s in sims] == [
        ("8990012345678901231", 286, 1),
        ("8930023456789012348", 202, 1),
    ]
    assert [s["icc_id"] for s in sims] == [sim[0] for sim in LEGACY_SIMS]
    assert not any("mcc_string" in s or "imsi" in s or "card_id" in s for s in sims)  # columns of later releases


def test_a_truncated_or_unknown_siminfo_is_a_warning_not_a_record(tmp_path: Path) -> None:
    cut = tmp_path / "cut.db"
    cut.write_bytes((RECENT / TELEPHONY_DE).read_bytes()[:9000])
    records, warnings = parse_file(AndroidSimInfoParser(), cut, tmp_path, "/" + TELEPHONY_DE)
    assert records == [] and warnings == ["database cannot be opened: database disk image is malformed"]
    odd = tmp_path / "odd.db"
    with sqlite3.connect(odd) as db:  # a siminfo whose ICCID column has another name: not a generation we know
        db.execute("CREATE TABLE siminfo (_id INTEGER PRIMARY KEY, iccid TEXT, number TEXT, display_name TEXT)")
        db.execute("INSERT INTO siminfo VALUES (1, '8944110068412345675', '+447911123456', 'x')")
    db.close()
    records, warnings = parse_file(AndroidSimInfoParser(), odd, tmp_path, "/" + TELEPHONY_DE)
    assert records == [] and warnings == ["unknown schema: missing siminfo.icc_id"]


def test_accounts_ce_and_de_give_the_same_accounts(tmp_path: Path) -> None:
    expected = [
        ("com.google", "karwan.example@gmail.com"),
        ("whatsapp", "+447911123456"),
        ("whatsapp business", "+33612345678"),
        ("telegram", "user:5012345678"),  # Telegram names its account by user id, never a phone number
        ("telegram", "user:6023456789"),
    ]
    for relative in (ACCOUNTS_CE, ACCOUNTS_DE):
        records, warnings = parsed(AndroidAccountsParser(), RECENT, relative, tmp_path)
        assert warnings == []
        assert [(a.app, a.identifier) for a in records] == expected
        assert [a.source_row for a in records] == [str(row[0]) for row in ACCOUNTS]
        assert records[2].display_name == "Android account of type com.whatsapp.w4b"


def test_accounts_of_releases_before_7(tmp_path: Path) -> None:
    records, warnings = parsed(AndroidAccountsParser(), LEGACY, ACCOUNTS_LEGACY, tmp_path)
    assert warnings == []
    assert [(a.app, a.identifier) for a in records] == [
        ("com.google", "karwan.example@gmail.com"),
        ("whatsapp", "+905321234567"),
    ]


def test_the_schema_generation_is_told_by_structure() -> None:
    parser = AndroidAccountsParser()
    names = []
    for folder, relative in ((RECENT, ACCOUNTS_CE), (RECENT, ACCOUNTS_DE), (LEGACY, ACCOUNTS_LEGACY)):
        with sqlite3.connect(f"file:{folder / relative}?mode=ro&immutable=1", uri=True) as db:
            schema, missing = parser.recognise(db)
        db.close()
        assert schema is not None and missing == []
        names.append(schema.name)
    assert names == [
        "accounts_ce.db (Android 7+, credential-encrypted)",
        "accounts_de.db (Android 7+, device-encrypted)",
        "accounts.db (before Android 7)",
    ]


def test_an_accounts_table_of_another_shape_is_refused_with_a_warning(tmp_path: Path) -> None:
    odd = tmp_path / "accounts.db"
    with sqlite3.connect(odd) as db:  # contacts2.db's accounts table has other column names
        db.execute("CREATE TABLE accounts (_id INTEGER PRIMARY KEY, account_name TEXT, account_type TEXT)")
    db.close()
    records, warnings = parse_file(AndroidAccountsParser(), odd, tmp_path, "/" + ACCOUNTS_CE)
    assert records == []
    assert warnings == ["unknown schema: missing accounts.name, accounts.password, accounts.type, table grants"]


def test_packages_list_names_the_messaging_apps_and_cloners(tmp_path: Path) -> None:
    (device,), warnings = parsed(AndroidPackagesParser(), RECENT, PACKAGES_LIST, tmp_path)
    assert warnings == []
    installed = device.extra["installed_apps"]
    assert installed["count"] == 8 and len(installed["packages"]) == 8
    assert [
        (m["package"], m["app"], m["family"], m["variant"], m["uid"], m["line"]) for m in installed["messaging"]
    ] == [
        ("com.lbe.parallel.intl", "cloner parallel space", "cloner", "app-cloning tool", 10215, 3),
        ("com.whatsapp", "whatsapp", "whatsapp", "official", 10201, 5),
        ("com.whatsapp.w4b", "whatsapp business", "whatsapp", "official", 10202, 6),
        ("org.telegram.messenger", "telegram", "telegram", "official", 10203, 7),
        ("org.thunderdog.challegram", "telegram x", "telegram", "official", 10204, 8),
    ]
    assert "com.sec.android.app.camera" in installed["packages"]


def test_packages_list_bad_lines_are_named_and_the_rest_read(tmp_path: Path) -> None:
    listing = tmp_path / "packages.list"
    listing.write_text(
        "com.whatsapp 10201 0 /data/user/0/com.whatsapp default 3003\n"
        "not a package line\n"
        "com.example notanumber 0 /data/data/com.example\n"
        "com.whatsapp.clone2 10301 0 /data/user/0/com.whatsapp.clone2 default 3003 0 1\n",
        encoding="ascii",
    )
    (device,), warnings = parse_file(AndroidPackagesParser(), listing, tmp_path, "/data/system/packages.list")
    assert warnings == ["2 line(s) are not 'package uid debuggable folder …' lines and were skipped: 2, 3"]
    messaging = device.extra["installed_apps"]["messaging"]
    assert [(m["app"], m["variant"], m["line"]) for m in messaging] == [
        ("whatsapp", "official", 1),
        ("whatsapp copy clone2", "renamed copy (possible clone)", 4),
    ]
    empty = tmp_path / "empty" / "packages.list"
    empty.parent.mkdir()
    empty.write_text("\n", encoding="ascii")
    records, warnings = parse_file(AndroidPackagesParser(), empty, tmp_path, "/data/system/packages.list")
    assert records == [] and warnings == ["no package lines in this packages.list: nothing read"]


def test_a_renamed_copy_is_named_after_the_longest_known_package() -> None:
    copy = messenger_of("com.whatsapp.w4b.clone")
    assert copy is not None and (copy.label, copy.family) == ("whatsapp business copy clone", "whatsapp")
    assert messenger_of("com.whatsappx") is None and messenger_of("com.example.notes") is None
    known = messenger_of("org.thunderdog.challegram")
    assert known is not None and (known.label, known.family) == ("telegram x", "telegram")

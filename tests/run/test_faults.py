"""The fault corpus (fixtures/build_faults.py) through the real pipeline: each damaged file sits beside
intact ones, and for each case the run completes (exit 0), every readable record still comes out (the
count the builder derived from how it damaged the file, cross-checked with the sqlite3 CLI or
exiftool where they can read it), the damage is a warning naming the file and a reason, and the
evidence's SHA-256 is unchanged. The module writes the table to tests/RESULTS-faults.md.

    .venv/bin/python -m pytest tests/run/test_faults.py -p no:cacheprovider   # regenerates RESULTS-faults.md
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fixtures import build_faults as faults
from tests.bundle_layout import payload
from tests.evidence_guard import sha256_of
from triage.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fixtures" / "faults"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
RESULTS_FILE = Path(__file__).parents[1] / "RESULTS-faults.md"
SMS = "/" + faults.SMS_DB
CAMERA = "/media/0/DCIM/Camera"
# Pillow (pHash) complains about the damaged EXIF too; the run records its own warnings
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")


# -- the results table (one row per case, written when the module ends) ---------------------------------------
@dataclass
class Row:
    case: str
    expected: str
    got: str
    warnings: str
    unchanged: str
    note: str = ""


RESULTS: dict[str, Row] = {}
NOT_RUN: dict[str, str] = {}  # cases skipped on purpose, with why (filled below, next to their tests)
CASES = (
    "truncated E01",
    "truncated raw image",
    "GPT with overlapping partitions",
    "SQLite corrupted pages",
    "hot journal",
    "WAL with a bad frame checksum",
    "database that is a JPEG",
    "zero-byte databases",
    "EXIF looping / out-of-range offsets",
    "HEIC broken boxes",
    "Telegram TL blobs cut at every byte",
    "huge texts",
    "100,000 tiny files",
    "deep folder nesting",
    "deep zip nesting",
)


@pytest.fixture(scope="module", autouse=True)
def results_table() -> Iterator[None]:
    yield
    if set(RESULTS) != set(CASES):  # a partial run (-k, -m "not slow") leaves the full table as it was
        return
    lines = [
        "# Fault corpus results",
        "",
        "Written by `tests/run/test_faults.py` from the last run of the module; regenerate with",
        "",
        "    .venv/bin/python -m pytest tests/run/test_faults.py -p no:cacheprovider",
        "",
        "The corpus is built by `fixtures/build_faults.py` (committed part in `fixtures/faults/`, big cases "
        "at test time). Records recovered: expected (from how the fixture was built) / got (from the run's "
        "case store). Notes say what the case shows. Only a run of every case rewrites this file.",
        "",
        "| case | records recovered (expected / got) | warnings (shortened) | evidence unchanged | notes |",
        "|---|---|---|---|---|",
    ]
    for case in CASES:
        row = RESULTS.get(case)
        if row is None:
            lines.append(f"| {case} | not run in this session | | | {_cell(NOT_RUN.get(case, ''))} |")
            continue
        lines.append(
            f"| {row.case} | {row.expected} / {row.got} | {_cell(row.warnings)} | {row.unchanged} | {_cell(row.note)} |"
        )
    RESULTS_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cell(text: str, limit: int = 260) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record(case: str, expected: str, got: str, run: Run, paths: tuple[str, ...], note: str = "") -> None:
    shown = "; ".join(f"{p.rsplit('/', 1)[-1]}: {w}" for p in paths for w in run.warnings(p)[:2]) or "none"
    RESULTS[case] = Row(case, expected, got, shown, "yes" if run.unchanged else "NO", note)


# -- running the pipeline ---------------------------------------------------------------------------------
@dataclass
class Run:
    evidence: Path
    out: Path
    exit_code: int
    unchanged: bool  # our own SHA-256 of every evidence file, before and after
    store_unchanged: bool | None  # what the run recorded (EvidenceItem.unchanged)
    db: Path = field(init=False)

    def __post_init__(self) -> None:
        self.db = payload(self.out) / "case.sqlite"
        if not self.db.exists():  # the bundle layout before BagIt
            self.db = self.out / "case.sqlite"

    def query(self, sql: str, *args: object) -> list[tuple]:
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def count(self, table: str, path: str, where: str = "1") -> int:
        """Records of one type that came from the file at `path` (its path inside the evidence)."""
        return self.query(
            f"SELECT count(*) FROM {table} r JOIN source_file s ON s.id = r.source_file_id "
            f"WHERE s.path = ? AND {where}",
            path,
        )[0][0]

    def warnings(self, path: str) -> list[str]:
        """Warnings that name the file: by its source record or in their provenance / message."""
        rows = self.query(
            "SELECT w.message FROM parse_warning w LEFT JOIN source_file s ON s.id = w.source_file_id "
            "WHERE s.path = ? OR w.provenance LIKE ? OR w.message LIKE ? ORDER BY w.id",
            path,
            f"%{path}",
            f"%{path}%",
        )
        return [r[0] for r in rows]

    def status(self, path: str) -> str | None:
        rows = self.query("SELECT status FROM source_file WHERE path = ?", path)
        return rows[0][0] if rows else None

    def evidence_warnings(self) -> list[str]:
        return [r[0] for r in self.query("SELECT message FROM parse_warning WHERE stage = 'evidence'")]


def evidence_files(evidence: Path) -> list[Path]:
    if evidence.is_file():
        return (
            sorted(evidence.parent.glob(evidence.stem + ".*"))
            if evidence.suffix.upper().startswith(".E")
            else [evidence]
        )
    return sorted(p for p in evidence.rglob("*") if p.is_file())


def triage_run(evidence: Path, out: Path) -> Run:
    files = evidence_files(evidence)
    before = {p: sha256_of(p) for p in files}
    code = main(
        [
            "run",
            str(evidence),
            "--out",
            str(out),
            "--quiet",
            "--case",
            "FAULTS",
            "--exhibit",
            evidence.name,
            "--examiner",
            "fault corpus",
        ]
    )
    after = {p: sha256_of(p) for p in files if p.exists()}
    run = Run(evidence, out, code, before == after, None)
    if run.db.exists():
        rows = run.query("SELECT unchanged FROM evidence_item")
        run.store_unchanged = bool(rows[0][0]) if rows and rows[0][0] is not None else None
    return run


def assert_completed(run: Run) -> None:
    assert run.exit_code == 0, f"triage run {run.evidence} exited {run.exit_code}"
    assert run.unchanged and run.store_unchanged, "the evidence changed during the run"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip(f"{name} is not installed (Debian: sqlite3, libimage-exiftool-perl, e2fsprogs, gdisk, ewf-tools)")
    return found


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, evidence_guard):
    """One run per committed evidence folder (sqlite, media, telegram), made on first use."""
    runs: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in runs:
            evidence_guard(CORPUS / name)
            runs[name] = triage_run(CORPUS / name, tmp_path_factory.mktemp(f"run-{name}") / "out")
        return runs[name]

    return get


# -- the builder ------------------------------------------------------------------------------------------
def test_builder_rebuilds_the_committed_corpus_byte_for_byte(tmp_path):
    rebuilt = faults.build(tmp_path / "faults")
    assert rebuilt["sha256"] == EXPECTED["sha256"]
    committed = {
        str(p.relative_to(CORPUS)): sha256_of(p)
        for p in sorted(CORPUS.rglob("*"))
        if p.is_file() and p.name != "expected.json"
    }
    assert committed == EXPECTED["sha256"]


# -- SQLite ---------------------------------------------------------------------------------------------
def cli_readable_rows(db: Path, rowids: range) -> int:
    """Rows the sqlite3 CLI can fetch one by one (a lookup on a damaged page fails, the others answer)."""
    script = "".join(f"SELECT _id FROM sms WHERE _id = {i};\n" for i in rowids)
    done = subprocess.run([tool("sqlite3"), f"file:{db}?immutable=1"], input=script, capture_output=True, text=True)
    return len(done.stdout.split())


def cli_count_with_sidecar(db: Path, tmp: Path) -> int:
    """`SELECT count(*) FROM sms` by the sqlite3 CLI on a copy of the database with its -journal/-wal."""
    for f in db.parent.glob(db.name + "*"):
        shutil.copyfile(f, tmp / f.name)
    done = subprocess.run(
        [tool("sqlite3"), str(tmp / db.name), "SELECT count(*) FROM sms"], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_corrupted_pages_give_every_row_on_the_undamaged_pages(corpus_run):
    case, path = EXPECTED["sqlite"]["corrupt_pages"], "/corrupt_pages" + SMS
    run = corpus_run("sqlite")
    got = run.count("message", path)
    record(
        "SQLite corrupted pages",
        str(case["sms_expected"]),
        str(got),
        run,
        (path,),
        f"leaf pages {case['damaged_pages']} of {case['leaf_pages']} overwritten",
    )
    assert_completed(run)
    assert (
        cli_readable_rows(CORPUS / "sqlite" / path.lstrip("/"), range(1, case["rows_written"] + 1))
        == case["sms_expected"]
    )
    assert got == case["sms_expected"]
    rows = {
        int(r[0])
        for r in run.query(
            "SELECT m.source_row FROM message m JOIN source_file s ON s.id = m.source_file_id WHERE s.path = ?", path
        )
    }
    assert rows == set(range(1, case["rows_written"] + 1)) - set(case["lost_rowids"])
    lost = case["lost_rowids"]
    assert run.warnings(path) == [
        f"sms: damaged page(s): rows with rowid {lost[0]} to {lost[18]} cannot be read (database disk image is "
        "malformed); reading went on after them",
        f"sms: damaged page(s): rows with rowid {lost[19]} to {lost[-1]} cannot be read (database disk image is "
        "malformed); reading went on after them",
    ]
    assert run.status(path) == "parsed with warnings"


def test_hot_journal_is_rolled_back_to_the_committed_rows(corpus_run, tmp_path):
    case, path = EXPECTED["sqlite"]["hot_journal"], "/hot_journal" + SMS
    run = corpus_run("sqlite")
    got = run.count("message", path)
    record(
        "hot journal",
        f"{case['sms_expected']} (not the {case['sms_in_file_without_journal']} of the uncommitted file)",
        str(got),
        run,
        (path,),
        "the rollback is said, with the pages it undid",
    )
    assert_completed(run)
    assert cli_count_with_sidecar(CORPUS / "sqlite" / path.lstrip("/"), tmp_path) == case["sms_expected"]
    assert got == case["sms_expected"] != case["sms_in_file_without_journal"]


def test_hot_journal_is_a_warning(corpus_run):
    path = "/hot_journal" + SMS
    run = corpus_run("sqlite")
    assert run.warnings(path) == [
        f"hot rollback journal (mmssms.db-journal): an interrupted transaction changed "
        f"{EXPECTED['sqlite']['hot_journal']['journal_pages']} page(s) of 4096 bytes; SQLite rolls them back to the "
        "last committed state (32 pages), so the records are that state and the uncommitted changes are not among them"
    ]
    assert run.status(path) == "parsed with warnings"


def test_wal_frames_after_a_bad_checksum_are_ignored_as_sqlite_does(corpus_run, tmp_path):
    case, path = EXPECTED["sqlite"]["wal_bad_checksum"], "/wal_bad_checksum" + SMS
    run = corpus_run("sqlite")
    got = run.count("message", path)
    record(
        "WAL with a bad frame checksum",
        f"{case['sms_expected']} ({case['sms_in_database_file']} in the file + "
        f"frames 1-{case['frames_kept']}; {case['sms_ignored']} after frame {case['bad_frame']} ignored)",
        str(got),
        run,
        (path,),
        "frames from the bad one on are ignored, as SQLite does, and said",
    )
    assert_completed(run)
    assert cli_count_with_sidecar(CORPUS / "sqlite" / path.lstrip("/"), tmp_path) == case["sms_expected"]
    assert got == case["sms_expected"]
    wal_only = run.count("message", path, "json_extract(r.extra, '$.wal_only') = 1")
    assert wal_only == case["sms_expected"] - case["sms_in_database_file"]


def test_wal_bad_checksum_is_a_warning(corpus_run):
    wal, path = EXPECTED["sqlite"]["wal_bad_checksum"], "/wal_bad_checksum" + SMS
    run = corpus_run("sqlite")
    assert [w for w in run.warnings(path) if "bad checksum" in w] == [
        f"write-ahead log (mmssms.db-wal): frame {wal['bad_frame']} of {wal['frames']} has a bad checksum; SQLite "
        f"ignores it and every frame after it ({wal['frames'] - wal['frames_kept']} frame(s), 2 committed "
        f"transaction(s) lost), the records come from the database file and the 2 transaction(s) in frames "
        f"1-{wal['frames_kept']}"
    ]
    assert run.status(path) == "parsed with warnings"


def test_sidecar_notes_name_the_damage():
    """The helper triage/parsing/__init__.py calls on its working copy, on the corpus' own sidecars."""
    from triage.parsing.sidecars import sidecar_notes

    base = CORPUS / "sqlite"
    wal = EXPECTED["sqlite"]["wal_bad_checksum"]
    assert sidecar_notes(base / "hot_journal" / faults.SMS_DB) == [
        f"hot rollback journal (mmssms.db-journal): an interrupted transaction changed "
        f"{EXPECTED['sqlite']['hot_journal']['journal_pages']} page(s) of 4096 bytes; SQLite rolls them back to the "
        "last committed state (32 pages), so the records are that state and the uncommitted changes are not among them"
    ]
    assert sidecar_notes(base / "wal_bad_checksum" / faults.SMS_DB) == [
        f"write-ahead log (mmssms.db-wal): frame {wal['bad_frame']} of {wal['frames']} has a bad checksum; SQLite "
        f"ignores it and every frame after it ({wal['frames'] - wal['frames_kept']} frame(s), 2 committed "
        f"transaction(s) lost), the records come from the database file and the 2 transaction(s) in frames "
        f"1-{wal['frames_kept']}"
    ]
    assert sidecar_notes(base / "intact" / faults.SMS_DB) == []


def test_a_jpeg_at_the_database_path_is_read_as_a_photo(corpus_run):
    path = "/jpeg_as_db" + SMS
    run = corpus_run("sqlite")
    got = run.count("media_file", path), run.count("message", path)
    record(
        "database that is a JPEG",
        "1 photo, 0 SMS",
        f"{got[0]} photo, {got[1]} SMS",
        run,
        (path,),
        "each SQLite parser named for the path says it is not a database but a JPEG image",
    )
    assert_completed(run)
    assert got == (1, 0)


def test_a_jpeg_at_the_database_path_is_a_warning(corpus_run):
    path = "/jpeg_as_db" + SMS
    run = corpus_run("sqlite")
    said = run.query(
        "SELECT w.component, w.level, w.message FROM parse_warning w JOIN source_file s ON s.id = "
        "w.source_file_id WHERE s.path = ? ORDER BY w.id",
        path,
    )
    refusals = [
        (c, level)
        for c, level, m in said
        if m.startswith("not a SQLite database (first bytes: ff d8 ff")
        and m.endswith("): the file is a JPEG image; read by photo_exif instead")
    ]
    assert refusals == [("android_sms", "warning"), ("android_mms", "warning")]
    assert run.status(path) == "parsed with warnings"


def test_zero_byte_databases_are_warnings_and_the_intact_one_is_read(corpus_run):
    run = corpus_run("sqlite")
    empty = EXPECTED["sqlite"]["zero_bytes"]["files"]
    intact = run.count("message", "/intact" + SMS)
    record(
        "zero-byte databases",
        f"{EXPECTED['sqlite']['intact']['sms_expected']} SMS from the intact database beside {len(empty)} empty ones",
        f"{intact}",
        run,
        tuple(empty),
    )
    assert_completed(run)
    assert intact == EXPECTED["sqlite"]["intact"]["sms_expected"]
    for path in empty:
        assert any("empty (0 bytes)" in w for w in run.warnings(path)), path
        assert run.status(path) == "not parsed"


# -- media ------------------------------------------------------------------------------------------------
def exiftool_gps(folder: Path) -> set[str]:
    """Files exiftool finds a GPS latitude in."""
    done = subprocess.run(
        [tool("exiftool"), "-q", "-q", "-if", "$GPSLatitude", "-p", "$FileName", str(folder)],
        capture_output=True,
        text=True,
    )
    return set(done.stdout.split())


def photo_counts(run: Run, names: list[str]) -> tuple[int, int]:
    media = sum(run.count("media_file", f"{CAMERA}/{n}") for n in names)
    places = sum(run.count("location", f"{CAMERA}/{n}") for n in names)
    return media, places


@pytest.mark.parametrize(
    "case, prefix, reason",
    [
        ("EXIF looping / out-of-range offsets", "exif_", "EXIF structure: "),
        ("HEIC broken boxes", "heic_", "HEIF box structure: "),
    ],
)
def test_damaged_photo_metadata_keeps_what_is_readable(corpus_run, case, prefix, reason):
    expected = EXPECTED["media"]
    damaged = sorted(n for n in expected if n.startswith(prefix))
    run = corpus_run("media")
    want = sum(expected[n]["media"] for n in damaged), sum(expected[n]["locations"] for n in damaged)
    got = photo_counts(run, damaged)
    record(
        case,
        f"{want[0]} photos, {want[1]} positions",
        f"{got[0]} photos, {got[1]} positions",
        run,
        tuple(f"{CAMERA}/{n}" for n in damaged),
    )
    assert_completed(run)
    assert got == want
    assert photo_counts(run, ["intact.jpg", "intact.heic"]) == (2, 2)
    for name in damaged:
        warnings = run.warnings(f"{CAMERA}/{name}")
        assert any(w.startswith(reason) for w in warnings), (name, warnings)
        if name.startswith("exif_"):  # exiftool reads the same GPS (the HEIC reader here reaches items it does not)
            assert (name in exiftool_gps(CORPUS / "media" / CAMERA.lstrip("/"))) == bool(expected[name]["locations"])


def test_exif_loop_warnings_say_where(corpus_run):
    run = corpus_run("media")
    assert "EXIF structure: IFD1 offset 8 points back at IFD0: the IFDs loop (not followed again)" in run.warnings(
        f"{CAMERA}/exif_loop_next.jpg"
    )
    assert "EXIF structure: ExifIFD offset 8 points back at IFD0: the IFDs loop (not followed again)" in run.warnings(
        f"{CAMERA}/exif_loop_sub.jpg"
    )
    assert "EXIF structure: GPS IFD offset 16777200 lies outside the 214-byte EXIF block (not read)" in run.warnings(
        f"{CAMERA}/exif_offset_out_of_range.jpg"
    )


# -- Telegram ----------------------------------------------------------------------------------------------
def test_telegram_blobs_cut_at_every_byte_each_give_a_message(corpus_run):
    case, path = EXPECTED["telegram"], "/" + faults.TELEGRAM_DB
    run = corpus_run("telegram")
    got = run.count("message", path)
    full = run.count("message", path, "r.body = ?".replace("?", f"'{case['text']}'"))
    record(
        "Telegram TL blobs cut at every byte",
        f"{case['messages_expected']} messages ({case['blob_bytes']}+1 "
        f"cuts), {case['messages_with_full_text']} with the whole text",
        f"{got} messages, {full} with the whole text",
        run,
        (path,),
    )
    assert_completed(run)
    assert got == case["messages_expected"]
    assert full == case["messages_with_full_text"]
    assert run.count("contact", path) == case["contacts_expected"]
    assert any(w.startswith("messages_v2: ") and "not decoded" in w for w in run.warnings(path))
    assert run.status(path) == "parsed with warnings"


# -- disk images (built at test time) ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    for name in ("mkfs.ext4", "debugfs", "sgdisk", "ewfacquire"):
        tool(name)
    return tmp_path_factory.mktemp("fault-images")


def test_truncated_raw_image(images, tmp_path):
    built = faults.truncated_raw(images / "raw")
    run = triage_run(built["image"], tmp_path / "out")
    after = "/media/0/DCIM/Camera/z_after.jpg"
    got = run.count("message", SMS), run.count("media_file", "/media/0/DCIM/Camera/a_before.jpg")
    record(
        "truncated raw image",
        f"{built['sms_expected']} SMS, 1 photo before the cut",
        f"{got[0]} SMS, {got[1]} photo",
        run,
        (after,),
    )
    assert_completed(run)
    assert built["readable"]["/".join(SMS.split("/")[1:])] and not built["readable"][after.lstrip("/")]
    assert got == (built["sms_expected"], 1)
    assert run.status(after) == "not parsed" and run.count("media_file", after) == 0
    assert any("cannot be read" in w for w in run.warnings(after))
    assert any("truncated image?" in w for w in run.evidence_warnings())


def test_gpt_with_overlapping_partitions(images, tmp_path):
    built = faults.overlapping_gpt(images / "gpt")
    run = triage_run(built["image"], tmp_path / "out")
    got = run.count("message", SMS), run.count("media_file", "/DCIM/Camera/overlap.jpg")
    record(
        "GPT with overlapping partitions",
        f"{built['sms_expected']} SMS, {built['media_expected']} photo",
        f"{got[0]} SMS, {got[1]} photo",
        run,
        (),
        "both partitions examined, the overlap said",
    )
    RESULTS["GPT with overlapping partitions"].warnings = "; ".join(run.evidence_warnings()) or "none"
    assert_completed(run)
    assert got == (built["sms_expected"], built["media_expected"])
    first, last = built["overlap_sectors"]
    assert (
        f"raw overlap.raw → GPT: partitions 1 and 2 overlap (sectors {first}-{last}); both are examined, so "
        "files in the shared sectors may be listed under both; check the partition table" in run.evidence_warnings()
    )


LOST_PHOTO = "/media/0/DCIM/Camera/z_after.jpg"


@pytest.fixture(scope="module")
def e01_run(images, tmp_path_factory) -> tuple[dict, Run]:
    built = faults.truncated_e01(images / "e01")
    return built, triage_run(built["image"], tmp_path_factory.mktemp("run-e01") / "out")


def test_truncated_e01(e01_run):
    built, run = e01_run
    got = run.count("message", SMS)
    record(
        "truncated E01",
        f"{built['sms_expected']} SMS (first segment), the photo past the cut not parsed",
        f"{got} SMS, photo {run.status(LOST_PHOTO)}",
        run,
        (),
        "the lost photo is 'not parsed: cannot be read' (image read error), never a record with a wrong hash",
    )
    RESULTS["truncated E01"].warnings = "; ".join(run.evidence_warnings()[:2])
    assert_completed(run)
    assert "data/com.android.providers.telephony/databases/mmssms.db" in built["surely_readable"]
    assert got == built["sms_expected"]
    assert any("the image is incomplete" in w and "phone.E02" in w for w in run.evidence_warnings())


def test_truncated_e01_lost_photo_is_not_parsed(e01_run):
    built, run = e01_run
    assert LOST_PHOTO.lstrip("/") in built["surely_lost"]
    assert run.count("media_file", LOST_PHOTO) == 0 and run.status(LOST_PHOTO) == "not parsed"
    said = run.warnings(LOST_PHOTO)
    where = f"EWF phone.E01 (+1 segment) → ext4 → {LOST_PHOTO}"
    assert said and all(
        w.startswith(f"cannot be read: {where}: bytes ")
        and "lie in a part of the image that cannot be read (image read error at byte " in w
        for w in said
    ), said


# -- big and deep cases (built at test time) ------------------------------------------------------------------
def test_huge_texts_are_kept_whole(tmp_path):
    evidence = tmp_path / "phone"
    built = faults.huge_texts(evidence)
    run = triage_run(evidence, tmp_path / "out")
    lengths = run.query("SELECT max(length(body)) FROM message")[0][0]
    name = run.query("SELECT max(length(name)) FROM contact")[0][0]
    got = run.count("message", SMS), run.count("contact", "/" + faults.CONTACTS_DB)
    record(
        "huge texts",
        f"{built['sms_expected']} SMS (one of {built['body_length']:,} chars), "
        f"{built['contacts_expected']} contacts (one name of {built['name_length']:,} chars)",
        f"{got[0]} SMS (longest {lengths:,}), {got[1]} contacts (longest name {name:,})",
        run,
        (SMS,),
        "not damage: no warning expected; the report caps what it displays",
    )
    assert_completed(run)
    assert got == (built["sms_expected"], built["contacts_expected"])
    assert lengths == built["body_length"] and name == built["name_length"]


@pytest.mark.slow
def test_one_hundred_thousand_tiny_files(tmp_path):
    evidence = tmp_path / "phone"
    built = faults.many_tiny_files(evidence)
    run = triage_run(evidence, tmp_path / "out")
    got = run.count("message", SMS)
    # this many per-file hashes go to a sha256sum-format list in the bundle; the record keeps the list's hash
    recorded = json.loads(run.query("SELECT files_sha256_before FROM evidence_item")[0][0])
    listing = payload(run.out) / "evidence-files-sha256-before.txt"
    lines = listing.read_text(encoding="utf-8").splitlines() if listing.is_file() else []
    record(
        "100,000 tiny files",
        f"{built['sms_expected']} SMS, {built['tiny_files'] + 1:,} files hashed",
        f"{got} SMS, {len(lines):,} files hashed",
        run,
        (SMS,),
        f"not damage: no warning expected; the per-file hashes are in {listing.name} in the bundle",
    )
    assert_completed(run)
    assert got == built["sms_expected"]
    assert recorded == {listing.name: sha256_of(listing)}
    assert len(lines) == built["tiny_files"] + 1
    assert f"{sha256_of(evidence / faults.SMS_DB)}  {evidence / faults.SMS_DB}" in lines


def test_deep_folder(tmp_path):
    evidence = tmp_path / "phone"
    built = faults.deep_folder(evidence)
    run = triage_run(evidence, tmp_path / "out")
    got = run.count("message", built["path"])
    record(
        "deep folder nesting",
        f"{built['sms_expected']} SMS at depth {built['depth']}",
        str(got),
        run,
        (built["path"],),
        "not damage: no warning expected",
    )
    assert_completed(run)
    assert got == built["sms_expected"]


def test_deep_zip(tmp_path):
    evidence = tmp_path / "phone.zip"
    built = faults.deep_zip(evidence)
    run = triage_run(evidence, tmp_path / "out")
    got = run.count("message", "/" + built["member"])
    record(
        "deep zip nesting",
        f"{built['sms_expected']} SMS at depth {built['depth']}",
        str(got),
        run,
        ("/" + built["member"],),
        "not damage: no warning expected",
    )
    assert_completed(run)
    assert got == built["sms_expected"]

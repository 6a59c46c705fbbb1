"""iOS call history before iOS 8 (call_history.db `call`), on the fixture built from its published schema."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stdout
from pathlib import Path

from fixtures.build_ios7_calls import CALLS, DEVICE_PATH, FOLDER
from fixtures.build_ios7_calls import main as build_fixture
from fixtures.deterministic import read_sums
from triage.evidence.directory import DirectoryEvidence
from triage.model.records import Base, SourceFile
from triage.parsing import ParseRunner
from triage.run.loose_parse import parse_loose_file

COMMITTED = Path(__file__).parents[2] / "fixtures" / FOLDER
DATABASE = COMMITTED / DEVICE_PATH


def calls_of(records: list[dict]) -> list[dict]:
    return [r for r in records if r["type"] == "call"]


def test_calls_directions_numbers_times_and_durations() -> None:
    records, warnings = parse_loose_file(DATABASE)
    calls = calls_of(records)
    assert warnings == [] and len(calls) == len(CALLS) == 5
    assert [(c["app"], c["direction"], c["counterpart"], c["time_utc"], c["duration_s"]) for c in calls] == [
        ("phone", "outgoing", "+447700900123", "2014-01-06T09:20:00Z", 62.0),
        ("phone", "incoming", "07700900456", "2014-01-06T10:20:00Z", 0.0),
        ("phone", "incoming", "+33612345678", "2014-01-07T09:20:00Z", 305.0),
        ("facetime", "outgoing", "karwan@example.org", "2014-01-07T10:20:00Z", 41.0),
        ("phone", "outgoing", "+9647501234567", "2014-01-08T09:20:00Z", 12.0),
    ]
    assert [(c["time_raw"], c["time_encoding"]) for c in calls][0] == (1389000000, "unix_s")
    assert all(c["video"] is None for c in calls)  # FaceTime audio and video are not told apart here


def test_flags_kept_raw_and_uncertain_bits_named_not_guessed() -> None:
    calls = calls_of(parse_loose_file(DATABASE)[0])
    assert [c["extra"]["flags"] for c in calls] == [5, 4, 4, 1769477, 13]
    assert [c["extra"].get("flags_not_interpreted") for c in calls] == [None, None, None, "0x1b0000", "0x8"]
    assert "missed or declined" in calls[1]["extra"]["not_connected"]  # incoming, 0 s: never called "missed"
    assert "not_connected" not in calls[2]["extra"]
    first = calls[0]["extra"]
    assert (first["country_code"], first["network_code"], first["addressbook_rowid"]) == ("234", "10", 3)
    assert first["originalAddress"] == "07700900123"


def test_every_call_has_its_table_row_and_row_digest() -> None:
    calls = calls_of(parse_loose_file(DATABASE)[0])
    rows = [(c["provenance"]["table"], c["provenance"]["row"]) for c in calls]
    assert rows == [("call", str(n)) for n in range(1, 6)]
    assert all(len(c["provenance"]["row_sha256"]) == 64 for c in calls)
    assert calls[0]["provenance"]["sha256"] == read_sums(COMMITTED)[DEVICE_PATH]


def test_builder_gives_the_same_bytes_as_committed(tmp_path: Path) -> None:
    with redirect_stdout(io.StringIO()):
        assert build_fixture([str(tmp_path)]) == 0
    assert (tmp_path / FOLDER / DEVICE_PATH).read_bytes() == DATABASE.read_bytes()
    assert read_sums(tmp_path / FOLDER) == read_sums(COMMITTED)


def test_truncated_copy_is_a_recorded_warning_not_a_crash(tmp_path: Path) -> None:
    cut = tmp_path / "call_history.db"
    data = DATABASE.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the schema page survives, the call rows' pages do not
    records, warnings = parse_loose_file(cut)
    assert calls_of(records) == []
    assert len(warnings) == 1 and warnings[0].startswith("ios7_calls (")
    assert "malformed" in warnings[0] or "cannot be opened" in warnings[0]


def run_tree(root: Path, workdir: Path) -> tuple[list[SourceFile], list[tuple[str, str, str]]]:
    """The run's parse step on a folder: every source file, and (parser, level, message) of each warning."""
    sources: list[SourceFile] = []
    warnings: list[tuple[str, str, str]] = []

    def on_record(record: Base, source: SourceFile) -> None:
        pass

    def on_warning(stage: str, component: str, level: str, message: str, *_: object) -> None:
        warnings.append((component, level, message))

    runner = ParseRunner(DirectoryEvidence(root), workdir, sources.append, on_record, on_warning)
    for candidate in runner.select():
        runner.parse(candidate)
    return sources, warnings


def test_unreadable_file_at_its_path_is_listed_as_not_parsed(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    target = phone / DEVICE_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\x00" * 2048)  # zeroed pages, as a damaged or half-recovered file holds
    (work := tmp_path / "work").mkdir()
    sources, warnings = run_tree(phone, work)
    assert [(s.path, s.status, s.parser) for s in sources] == [("/" + DEVICE_PATH, "not parsed", "ios7_calls")]
    assert [(c, lvl) for c, lvl, _ in warnings] == [("ios7_calls", "not parsed")]
    assert "not a SQLite database" in warnings[0][2]


def test_at_its_path_in_a_tree_it_is_read(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    shutil.copytree(COMMITTED, phone)
    (work := tmp_path / "work").mkdir()
    sources, warnings = run_tree(phone, work)
    (source,) = [s for s in sources if s.path.endswith("call_history.db")]
    assert (source.status, source.parser, source.record_count) == ("parsed", "ios7_calls", 5)
    assert source.schema == "ios7_calls: before iOS 8 (call table, Unix seconds)"
    assert warnings == []

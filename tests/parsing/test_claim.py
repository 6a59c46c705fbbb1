"""ParseRunner.select asks every parser about every file through `claim` and `accepts_by_path_alone`
(one lowered path, one expression per parser): the answers must be those of `path_matches` and `accepts`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import ALL_PARSERS, SqliteParser
from parsers.media.photo_exif import JPEG_MAGIC
from parsers.sms.android_sms_backup import AndroidSmsBackupParser
from triage.evidence.model import FileEntry
from triage.parsing import claim, path_rules

HEADERS = (b"", b"SQLite format 3\x00", JPEG_MAGIC + b"\xe0", b"\x78\x9c", b"bplist00", b"\x00\x00\x00\x18moov")


def paths() -> list[str]:
    """Every parser's own fixture paths under /data and in upper case, and paths no parser names."""
    named = [f"/data/{path}" for p in ALL_PARSERS for path in p.fixture_paths()]
    mixed = [path.upper() for path in named]
    android = [
        "/data/data/com.whatsapp/databases/msgstore.db",
        "/data/data/com.whatsapp/databases/MSGSTORE.DB",
        "/data/data/com.android.providers.telephony/databases/mmssms.db",
        "/media/0/DCIM/Camera/IMG_0001.JPG",
        "/x/y/notes.txt",
        "/",
    ]
    return named + mixed + android


def test_claim_is_path_matches_for_every_parser_and_path() -> None:
    rules = path_rules(ALL_PARSERS)
    claimed_some = 0
    for path in paths():
        entry = FileEntry(path=path, layers=("t",), type="file", size=10, inode=None)
        expected = [p for p in ALL_PARSERS if p.path_matches(entry)]
        assert claim(rules, path.lower()) == expected, path
        claimed_some += bool(expected)
        for p in ALL_PARSERS:
            if p.accepts_by_path_alone():  # select answers `accepts` from the claim for these
                for header in HEADERS:
                    assert p.accepts(entry, header) == (p in expected), (p.name, path, header)
    assert claimed_some > 20  # the paths above exercise the parsers, not only misses


def test_parsers_that_look_at_bytes_are_asked() -> None:
    by_path = {type(p) for p in ALL_PARSERS if p.accepts_by_path_alone()}
    assert AndroidSmsBackupParser not in by_path  # its path and a zlib header
    assert not any(issubclass(cls, SqliteParser) for cls in by_path)  # any SQLite file, by its header
    assert len(by_path) >= 5  # most parsers are chosen by their path alone


NAMED = [f"/data/{path}" for p in ALL_PARSERS for path in p.fixture_paths()]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(NAMED),
    st.integers(min_value=0, max_value=200),
    st.text(alphabet="/.abcxyzDBJPG_-0123456789*?[]", max_size=6),
    st.booleans(),
)
def test_the_ending_test_never_drops_a_parser_the_path_names(named: str, at: int, text: str, upper: bool) -> None:
    """A path a parser's patterns name always ends with one of its tails (Parser.paths_tails): a parser's paths
    with text put in anywhere, at the end included, are claimed exactly as `path_matches` says."""
    at = min(at, len(named))
    path = named[:at] + text + named[at:]
    path = path.upper() if upper else path
    entry = FileEntry(path=path, layers=("t",), type="file", size=10, inode=None)
    assert claim(path_rules(ALL_PARSERS), path.lower()) == [p for p in ALL_PARSERS if p.path_matches(entry)]


def test_tails_are_the_text_after_each_pattern_s_last_wildcard() -> None:
    from parsers.base import _paths_tails

    assert _paths_tails(("*/MmsSms.db", "*.jpg")) == ("/mmssms.db", ".jpg")
    assert _paths_tails(("*/org.telegram.messenger*/files/cache4.db",)) == ("/files/cache4.db",)
    assert _paths_tails(("*.jp[eg]",)) is None and _paths_tails(("*/x*",)) is None and _paths_tails(()) is None

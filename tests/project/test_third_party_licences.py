"""Every third-party fixture is attributed and carries a licence that allows redistribution
(fixtures/third_party/ATTRIBUTION.md); the ones not yet cleared are named here, so that the list can only
shrink knowingly, and a new file without a row or with an unknown licence fails."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIRD = ROOT / "fixtures" / "third_party"
ATTRIBUTION = THIRD / "ATTRIBUTION.md"
REDISTRIBUTABLE = ("Apache-2.0", "MIT", "CC-BY-SA-4.0")
# no licence found upstream (ATTRIBUTION.md "Licence review"): to be replaced by builder-made databases
NOT_CLEARED = {
    "er-simon/msgstore.db",
    "lab-whatsapp/msgstore.db",
    "lab-whatsapp/wa.db",
    "teleshoes-smsimporter/mmssms.db",
}
# our own files beside them: the attribution and the values measured with independent tools
OURS = {"ATTRIBUTION.md", "expected.json", "expected_filesystems.json", "expected_media.json", "expected_parsers.json"}
ROW = re.compile(r"^\| `fixtures/third_party/([^`]+)`(?: \([^)]*\))? \|(.*)\|\s*$")


def licences() -> dict[str, list[str]]:
    """local path -> the licence cell of each of its rows (a file may be listed under two headings)."""
    found: dict[str, list[str]] = {}
    for line in ATTRIBUTION.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            found.setdefault(m.group(1), []).append(m.group(2).rsplit("|", 1)[-1].strip())
    return found


def present_files() -> set[str]:
    """Files in the folder; a SQLite `-wal`/`-shm` beside a listed database belongs to that database's row
    (SQLite may leave empty ones when a database is opened elsewhere)."""
    files = {p.relative_to(THIRD).as_posix() for p in THIRD.rglob("*") if p.is_file()} - OURS
    return {f for f in files if not (f.endswith(("-wal", "-shm")) and f[:-4] in files)} | {
        f for f in files if f.endswith(("-wal", "-shm")) and f in licences()
    }


def test_every_file_has_an_attribution_row_and_every_row_a_file():
    rows = licences()
    assert sorted(present_files() - set(rows)) == []  # a file copied in without its attribution
    assert sorted(set(rows) - present_files()) == []  # a row left behind for a removed file


def test_every_licence_allows_redistribution_or_the_file_is_named_as_pending():
    unknown, pending = [], set()
    for path, cells in licences().items():
        for cell in cells:
            if cell.startswith("none found"):
                pending.add(path)
            elif not cell.startswith(REDISTRIBUTABLE):
                unknown.append(f"{path}: {cell}")
    assert unknown == []
    assert pending == NOT_CLEARED  # clearing or replacing one means taking it off NOT_CLEARED


def test_no_mvt_material_is_kept():
    """MVT License 1.1 adds a consensual-use condition: its test files are not redistributed here."""
    assert not (THIRD / "mvt").exists()
    assert "MVT License" not in "".join(cell for cells in licences().values() for cell in cells)


def test_the_row_pattern_reads_a_row():
    line = "| `fixtures/third_party/x/y.db` (schema only) | [a/b](https://example.org) | `y.db` | `abc` | `00` | MIT |"
    m = ROW.match(line)
    assert m and m.group(1) == "x/y.db" and m.group(2).rsplit("|", 1)[-1].strip() == "MIT"

"""Knowledge the code relies on lives in the repository's `docs/`, not in files outside it.

Comments, docstrings, rule data and notes once cited research notes kept beside the repository
(`schemas.md`, `domain.md`, `platform.md`, `peers.md`, `../shared/…`); a reader of the repository alone
could not follow them. These tests fail when such a citation comes back, when a `docs/…md "Heading"`
citation names a heading that does not exist, or when a rule's `sources` entry or an `[S…]` tag does not
resolve in `docs/`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {".py", ".yaml", ".yml", ".j2", ".toml", ".md", ".cfg", ".txt"}
NAMES = {"Makefile", "Dockerfile"}
SKIPPED_DIRS = {".venv", ".git", "__pycache__", ".pytest_cache", "out", "build", "node_modules"}
OUTSIDE = re.compile(r"\b(?:schemas|domain|platform|peers)\.md\b|\.\./shared\b|\bshared/reference\b")
URL = re.compile(r"https?://\S+")
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Files that still cite the outside notes, to be repointed (their owners were editing them when the notes
# moved into docs/): the exact replacement for each citation is in the hand-over of issue 16 item 4.
# Empty this list as they are fixed; `test_allow_list_is_current` fails on an entry that no longer cites.
TO_BE_REPOINTED: set[str] = set()

# The benchmark runs tools kept beside the repository (its tree generator and a pinned ALEAPP release):
# naming them is a command, not a citation of knowledge.
BENCHMARK_COMMANDS = re.compile(
    r"\.\./shared/bench/(?:gen_android_tree\.py|aleapp-[0-9a-f]+\.tar\.gz)"
    r"|--shared \.\./shared\b"
)

DOC_CITATION = re.compile(r"(docs/[\w./-]+\.md)((?:\s*(?:,|and)?\s*\"[^\"\n]+\")*)")
QUOTED = re.compile(r"\"([^\"\n]+)\"")
SOURCE_TAG = re.compile(r"\[(S\d+)\]")


def repository_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]  # never the venv
        found += [Path(folder, f) for f in files if Path(f).suffix in SUFFIXES or f in NAMES]
    return sorted(found)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def outside_citations(path: Path) -> list[str]:
    """`line: text` of each line citing a file outside the repository (URLs in docs/ are bibliography)."""
    rel = relative(path)
    hits = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        text = URL.sub("", line) if rel.startswith("docs/") else line
        if rel.startswith("bench/"):
            text = BENCHMARK_COMMANDS.sub("", text)
        if OUTSIDE.search(text):
            hits.append(f"{rel}:{number}: {line.strip()}")
    return hits


def headings(doc: Path) -> set[str]:
    return {line.lstrip("#").strip() for line in doc.read_text(encoding="utf-8").splitlines() if line.startswith("#")}


def test_no_file_cites_notes_outside_the_repository() -> None:
    hits = [
        hit
        for path in repository_files()
        if relative(path) not in TO_BE_REPOINTED | {THIS_FILE}
        for hit in outside_citations(path)
    ]
    assert hits == [], "cite docs/ instead (see docs/formats/ and docs/domain/):\n" + "\n".join(hits)


def test_allow_list_is_current() -> None:
    """Every allow-listed file exists and still cites outside notes: a fixed file leaves the list."""
    stale = sorted(p for p in TO_BE_REPOINTED if not (ROOT / p).is_file() or not outside_citations(ROOT / p))
    assert stale == [], f"remove from TO_BE_REPOINTED (repointed, moved or deleted): {stale}"


def test_the_check_finds_an_outside_citation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: a planted citation is reported, a bibliography URL in docs/ is not."""
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "bench").mkdir()
    (tmp_path / "a.py").write_text("# see schemas.md §1.2\nx = 1\n")
    (tmp_path / "docs" / "b.md").write_text("- [S1] <https://example.org/domain.md>\n")
    (tmp_path / "bench" / "c.py").write_text('"""runs ../shared/bench/gen_android_tree.py"""\n# ../shared/x.md\n')
    assert outside_citations(tmp_path / "a.py") == ["a.py:1: # see schemas.md §1.2"]
    assert outside_citations(tmp_path / "docs" / "b.md") == []
    assert outside_citations(tmp_path / "bench" / "c.py") == ["bench/c.py:2: # ../shared/x.md"]


def test_cited_doc_headings_exist() -> None:
    """`docs/x.md "Heading"` in code, data or notes names a file of the repository and a heading in it."""
    broken = []
    for path in repository_files():
        if relative(path) == THIS_FILE:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in DOC_CITATION.finditer(text):
            doc = ROOT / match.group(1)
            if not doc.is_file():
                broken.append(f"{relative(path)}: {match.group(1)} does not exist")
                continue
            missing = [h for h in QUOTED.findall(match.group(2)) if h not in headings(doc)]
            broken += [f"{relative(path)}: {match.group(1)} has no heading {h!r}" for h in missing]
    assert broken == []


def rule_sources() -> list[tuple[str, str]]:
    pack = yaml.safe_load((ROOT / "rules" / "packs" / "channel_crossing.yaml").read_text(encoding="utf-8"))
    return [(rule["id"], source) for rule in pack["rules"] for source in rule.get("sources", [])]


def test_rule_sources_resolve_in_docs() -> None:
    """Each `sources` entry naming a docs file names an existing file and a heading in it (a rule id in the
    catalogue, a section elsewhere), and every [S…] tag is in the bibliography."""
    bibliography = set(SOURCE_TAG.findall((ROOT / "docs" / "domain" / "sources.md").read_text(encoding="utf-8")))
    broken = []
    sources = rule_sources()
    assert len(sources) >= 20 and all(s.startswith(("docs/", "issue ")) for _, s in sources), sources
    for rule, source in sources:
        broken += [
            f"{rule}: [{tag}] not in docs/domain/sources.md"
            for tag in SOURCE_TAG.findall(source)
            if tag not in bibliography
        ]
        if not source.startswith("docs/"):
            continue
        path, _, rest = source.partition(" ")
        heading = SOURCE_TAG.sub("", rest).strip()
        if not (ROOT / path).is_file():
            broken.append(f"{rule}: {path} does not exist")
        elif heading and heading not in headings(ROOT / path):
            broken.append(f"{rule}: {path} has no heading {heading!r}")
    assert broken == []


def test_every_source_tag_in_rules_and_docs_is_in_the_bibliography() -> None:
    bibliography = set(SOURCE_TAG.findall((ROOT / "docs" / "domain" / "sources.md").read_text(encoding="utf-8")))
    places = [p for p in repository_files() if relative(p).startswith(("rules/", "docs/domain/"))]
    unknown = sorted(
        {
            f"{relative(p)}: {tag}"
            for p in places
            for tag in SOURCE_TAG.findall(p.read_text(encoding="utf-8"))
            if tag not in bibliography
        }
    )
    assert unknown == []

"""The examination record as the statement prints it: one readable line per custody entry.

custody.jsonl is the record itself (hash-chained, every detail as the run wrote it). A reader of the
statement needs, per entry, its time, who, what, and a short description in words: not the raw JSON,
and not the examiner's machine (host name, platform, absolute folders of the workstation), which says
nothing about the evidence and is kept in custody.jsonl for whoever needs it (issue 15 item 7). Paths
the record needs (the evidence files examined) are named by their file name; their full path and hash
are in the statement's evidence table and in custody.jsonl.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from triage.report.display import display_text
from triage.store.forked_reader import SECOND_PROCESS_FAILED

DESCRIPTION_CHARS = 400  # a description longer than this is cut (the whole entry is in custody.jsonl)
# details about the examiner's workstation, not the evidence: never printed (they stay in custody.jsonl)
MACHINE_KEYS = frozenset({"host", "platform", "python", "output", "store", "work_folder", "folder", "cwd", "user"})


@dataclass(frozen=True)
class Step:
    """One custody entry as a row of the examination record."""

    seq: Any
    time_utc: str
    local_offset: str
    actor: str
    action: str
    description: str


def examination_steps(custody: list[dict[str, Any]]) -> list[Step]:
    return [
        Step(
            e.get("seq", ""),
            _time(e.get("time_utc")),
            e.get("local_offset", ""),
            e.get("actor", ""),
            e.get("action", ""),
            describe(e.get("action", ""), e.get("details") or {}),
        )
        for e in custody
    ]


def describe(action: str, details: dict[str, Any]) -> str:
    """A short description in words of one custody entry's details."""
    words = _DESCRIBERS.get(action, _generic)(details)
    return display_text(words, "text")[:DESCRIPTION_CHARS] + ("…" if len(words) > DESCRIPTION_CHARS else "")


def _time(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return value.replace("T", " ").replace("Z", " UTC")


def file_name(path: Any) -> str:
    """The last part of a path (either kind of slash): what names an evidence file without the workstation."""
    text = str(path).rstrip("/\\")
    return text.replace("\\", "/").rsplit("/", 1)[-1] or text


def _count(value: Any, what: str) -> str:
    n = len(value) if isinstance(value, (list, dict)) else value
    return f"{n} {what}"


def _run_started(d: dict[str, Any]) -> str:
    parts = [f"{d.get('tool', 'tool')} {d.get('tool_version', '')}".strip()]
    if d.get("case") or d.get("exhibit"):
        parts.append(f"case {d.get('case') or '—'}, exhibit {d.get('exhibit') or '—'}")
    if d.get("evidence"):
        parts.append(f"evidence {file_name(d['evidence'])}")
    if d.get("scope"):
        parts.append(f"scope: {d['scope']}")
    if d.get("parsers"):
        parts.append(_count(d["parsers"], "parsers"))
    if d.get("backup_password"):
        parts.append(f"backup password: {d['backup_password']}")
    return "; ".join(parts)


def _rule_pack(d: dict[str, Any]) -> str:
    return (
        f"rule pack {d.get('pack', '')} {d.get('version', '')} ({d.get('file', '')}), SHA-256 "
        f"{d.get('sha256', '')}; {_count(d.get('rules', {}), 'rules')}"
    )


def _hashed(d: dict[str, Any]) -> str:
    files = d.get("sha256") or {}
    listed = "; ".join(f"{file_name(p)} SHA-256 {h}" for p, h in sorted(files.items())[:5])
    more = f"; and {len(files) - 5} more" if len(files) > 5 else ""
    when = READ_WHILE.get(str(d.get("read_while")), "")
    return f"{d.get('files', len(files))} file(s), {d.get('bytes', 0):,} bytes: {listed}{more}{when}"


# what else the run did while the evidence files were read for their hashes (the run's pipeline, on two cores)
READ_WHILE = {
    "listing": "; read while the evidence was listed (read only)",
    "passes": "; read while the passes ran (the evidence closed)",
}


def _opened(d: dict[str, Any]) -> str:
    roles = ", ".join(f"{k} {v}" for k, v in sorted((d.get("volume_roles") or {}).items()))
    files = ", ".join(file_name(p) for p in (d.get("container_files") or [])[:5])
    return f"{d.get('kind', '')} container {files}" + (f"; volumes: {roles}" if roles else "")


def _media_hashed(d: dict[str, Any]) -> str:
    verified = {
        True: "match the stored acquisition hashes",
        False: "DO NOT match the stored acquisition hashes",
        None: "no stored acquisition hash to compare",
    }.get(d.get("verified"), "not compared")
    errors = d.get("read_errors") or []
    failed = d.get(SECOND_PROCESS_FAILED)
    return (
        f"{d.get('size', 0):,} bytes of media, SHA-256 {d.get('sha256', '')}; computed hashes {verified}"
        + (f"; {len(errors)} read error(s)" if errors else "")
        + (f"; read by the run's own process after its second process failed ({failed})" if failed else "")
    )


def _selected(d: dict[str, Any]) -> str:
    by_parser = d.get("by_parser") or {}
    parsers = sum(1 for n in by_parser.values() if n)
    return f"{d.get('files', sum(by_parser.values()))} file(s) chosen for {parsers} parser(s)"


def _parsed(d: dict[str, Any]) -> str:
    records = d.get("records") or {}
    total = sum(v for v in records.values() if isinstance(v, int))
    return f"{total} record(s) read, {d.get('warnings', 0)} warning(s)"


def _files(d: dict[str, Any]) -> str:
    files = d.get("files") or d.get("reports") or {}
    parts = [f"{len(files)} output file(s) with their SHA-256 (listed in custody.jsonl)"]
    if "assessment" in d:
        parts.append(f"triage priority {d['assessment']}")
    if d.get("key_fingerprint"):
        parts.append(f"signed with key {d['key_fingerprint']}")
    return "; ".join(parts)


def _to_be_sealed(d: dict[str, Any]) -> str:
    return f"to be signed with key {d['key_fingerprint']}" if d.get("signed") else "not signed (no examiner key)"


def _generic(d: dict[str, Any]) -> str:
    """Scalars as `key: value`, lists and tables by their size; workstation details left out, paths by name."""
    parts = []
    for key, value in sorted(d.items()):
        if key in MACHINE_KEYS:
            continue
        if isinstance(value, (dict, list)):
            parts.append(f"{key.replace('_', ' ')}: {len(value)} item(s)")
        elif isinstance(value, str) and (value.startswith("/") or value[1:3] in (":\\", ":/")):
            parts.append(f"{key.replace('_', ' ')}: {file_name(value)}")
        elif value is not None:
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts) or "—"


_DESCRIBERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "run started": _run_started,
    "rule pack loaded": _rule_pack,
    "evidence files hashed (before)": _hashed,
    "evidence files hashed (after)": _hashed,
    "evidence opened": _opened,
    "media hashed": _media_hashed,
    "files selected for parsing": _selected,
    "parsing finished": _parsed,
    "report written": _files,
    "seal": _files,
    "bundle to be sealed": _to_be_sealed,
}

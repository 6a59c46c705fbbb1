"""index.html: a plain, self-contained page (no scripts, no network) for reading the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from triage.records import Location, MediaFile, Message, ParseWarning, SourceFile
from triage.store import CaseStore
from triage.timeutil import iso

_env = Environment(loader=PackageLoader("triage.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
_env.filters["iso"] = iso


def write_html(store: CaseStore, findings: dict[str, Any], custody_path: Path, target: Path) -> Path:
    sources = {s.id: s for s in store.all(SourceFile)}
    page = _env.get_template("index.html.j2").render(
        f=findings,
        messages=list(store.all(Message)),
        locations=list(store.all(Location)),
        media=list(store.all(MediaFile)),
        warnings=list(store.all(ParseWarning)),
        sources=sources,
        custody=[json.loads(line) for line in custody_path.read_text(encoding="utf-8").splitlines()],
    )
    target.write_text(page, encoding="utf-8")
    return target

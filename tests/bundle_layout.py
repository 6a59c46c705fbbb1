"""Where a sealed run's files are: `triage run` seals --out into a BagIt bag, its files under data/."""

from __future__ import annotations

from pathlib import Path

from triage.bundle.layout import PAYLOAD_DIR


def payload(out: Path) -> Path:
    """The folder holding index.html, report.pdf, findings.json, custody.jsonl, records/ … of a run."""
    return out / PAYLOAD_DIR

"""The rules' YAML data (the pack, its lexicon, the context lists) read with libyaml's safe loader where PyYAML
was built with it, else PyYAML's own safe loader: the same documents either way.

A run reads ~130 kB of these before anything else starts (nothing runs beside it yet): PyYAML's pure-Python
loader took ~0.2 s of that, libyaml's ~0.025 s (bench/RESULTS.md, 2026-12-07 afternoon)."""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(raw: bytes | str) -> Any:
    """`yaml.safe_load(raw)`, through libyaml when it is there."""
    return yaml.load(raw, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader (C or Python), never the full one

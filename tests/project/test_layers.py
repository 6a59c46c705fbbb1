"""The import-linter contracts of pyproject.toml hold: the layers run one way (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if found is None:
        pytest.skip("import-linter not installed: pip install -e '.[test]'")
    return found


def test_the_layers_run_one_way() -> None:
    result = subprocess.run([lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "one-way layers KEPT" in result.stdout


def test_a_report_module_importing_the_run_breaks_the_contract(tmp_path: Path) -> None:
    """The contract can fail: a copy of the tree where the report imports the run is refused."""
    copy = tmp_path / "tree"
    for name in ("triage", "parsers", "rules"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "triage" / "report" / "bad_shortcut.py").write_text("from triage.run.pipeline import RunOptions\n")
    result = subprocess.run(
        [lint_imports(), "--no-cache"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "triage.report.bad_shortcut -> triage.run.pipeline" in result.stdout

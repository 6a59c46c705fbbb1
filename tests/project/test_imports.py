"""Every module of the project imports on its own, in a fresh interpreter: no import runs in a circle whatever
the order a caller meets them in (a circle shows only when its module is imported first)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("triage", "parsers", "rules")
# scripts that a tool runs in its own context, not modules to import: Alembic's env.py reads alembic.context.config
NOT_MODULES = ("triage.lab.migrations.env",)

# Each module in a child forked from an interpreter that has imported none of the project (third-party
# libraries are imported once beforehand: they cannot hide a circle of ours, and forking is fast).
CHECK = r"""
import importlib, os, sys, traceback
import sqlalchemy.orm, click, jinja2, yaml, phonenumbers, shapely, rich, PIL.Image, cryptography  # third-party only
try:
    import weasyprint, spacy, pydantic, translate.storage.xliff  # optional at run time
except ImportError:
    pass
skipped, packages = set(sys.argv[1].split(",")), sys.argv[2:]
names = []  # from the files (pkgutil.walk_packages would import the packages to walk them)
for package in packages:
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = [d for d in subfolders if os.path.exists(os.path.join(folder, d, "__init__.py"))]
        for file in files:
            if file.endswith(".py"):
                parts = folder.split(os.sep) + ([] if file == "__init__.py" else [file[:-3]])
                if ".".join(parts) not in skipped:
                    names.append(".".join(parts))
failed = 0
for name in sorted(names):
    assert not any(m == p or m.startswith(p + ".") for m in sys.modules for p in packages)
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException:
            sys.stdout.write(f"{name}: " + traceback.format_exc().strip().splitlines()[-1] + "\n")
            sys.stdout.flush()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    failed += status != 0
print(f"checked {len(names)} modules, {failed} failed")
"""


@pytest.mark.slow
def test_every_module_imports_on_its_own() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK, ",".join(NOT_MODULES), *PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    *failures, summary = result.stdout.strip().splitlines()
    assert failures == [], "\n".join(failures)
    assert summary.endswith(" 0 failed") and int(summary.split()[1]) > 150, summary

"""The Telegram TL constructor table is built when a blob is first decoded, not when `triage` starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

PROBE = """
import sys
import triage.cli
import parsers
schema = sys.modules.get("parsers.telegram.tl_schema")
print("imported" if schema is not None else "absent", schema.table_loaded() if schema is not None else "-")
from parsers.telegram.tl import decode
decode(bytes.fromhex("f6a1199a"))  # messageEmpty-like id: any decode needs the table
print(schema.table_loaded() if schema is not None else sys.modules["parsers.telegram.tl_schema"].table_loaded())
"""


def test_starting_the_cli_does_not_build_the_tl_table():
    # a fresh interpreter: this test session may already have built the table
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.split()[1] in ("False", "-")  # the parsers are registered, the table is not built
    assert second == "True"  # and the first decode builds it


def test_table_names_stay_importable():
    from parsers.telegram import tl_schema

    table = tl_schema.CONSTRUCTORS
    assert table is tl_schema.constructors() and len(table) > 1400
    assert tl_schema.BY_NAME["messageEmpty"].id == tl_schema.constructor_named("messageEmpty").id

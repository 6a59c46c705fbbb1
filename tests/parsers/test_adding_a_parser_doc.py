"""docs/adding_a_parser.md stays true: its parser, fixture builder and test (the code blocks headed by the
file they would be) run as written, and `triage parsers` shows the new parser as the page says."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage.parsing
from parsers import catalogue, registry
from triage.cli import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding_a_parser.md"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def blocks() -> dict[str, str]:
    """Code blocks of the page: Python ones by the file named on their first line, others by position."""
    found: dict[str, str] = {}
    for n, (language, code) in enumerate(BLOCK.findall(DOC.read_text(encoding="utf-8"))):
        first = code.splitlines()[0]
        found[first[2:].strip() if language == "python" and first.startswith("# ") else f"block {n}"] = code
    return found


def load_module(name: str, path: str, code: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = path
    monkeypatch.setitem(sys.modules, name, module)
    exec(compile(code, path, "exec"), module.__dict__)
    return module


EXAMPLE_TEST = "tests/parsers/test_acme_dialer.py"  # where the worked example puts its test


def test_the_worked_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = blocks()
    files = {"parsers/contacts_calls/acme_dialer.py", "fixtures/build_acme_dialer.py", EXAMPLE_TEST}
    assert files <= set(code)
    with registry.isolated():
        load_module(
            "parsers.contacts_calls.acme_dialer",
            "parsers/contacts_calls/acme_dialer.py",
            code["parsers/contacts_calls/acme_dialer.py"],
            monkeypatch,
        )
        load_module(
            "fixtures.build_acme_dialer",
            "fixtures/build_acme_dialer.py",
            code["fixtures/build_acme_dialer.py"],
            monkeypatch,
        )
        # a new file is imported with the package, so the run's ALL_PARSERS has it: the same here
        monkeypatch.setattr(triage.parsing, "ALL_PARSERS", registry.parsers())
        example_test = load_module("test_acme_dialer", EXAMPLE_TEST, code[EXAMPLE_TEST], monkeypatch)
        example_test.test_acme_dialer_reads_both_generations(tmp_path)

        table = CliRunner().invoke(cli, ["parsers"]).output
        shown = next(c for c in code.values() if c.startswith("NAME "))
        listed = [line.split() for line in table.splitlines()]  # columns are as wide as the longest entry
        assert [line for line in shown.splitlines() if line != "…" and line.split() not in listed] == []
        markdown = catalogue.as_markdown(catalogue.entries())
        assert "\n### acme_dialer\n" in markdown
        assert (
            "| v1 (incoming flag) | call_history (_id, incoming, number, seconds, started_ms) | "
            "`fixtures/build_acme_dialer.py` |" in markdown
        )
    assert "acme_dialer" not in {c.name for c in registry.parser_classes()}


def test_the_example_test_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the parser registered, the example's test finds no calls and fails."""
    code = blocks()
    load_module(
        "fixtures.build_acme_dialer",
        "fixtures/build_acme_dialer.py",
        code["fixtures/build_acme_dialer.py"],
        monkeypatch,
    )
    example_test = load_module("test_acme_dialer", EXAMPLE_TEST, code[EXAMPLE_TEST], monkeypatch)
    with pytest.raises(AssertionError):
        example_test.test_acme_dialer_reads_both_generations(tmp_path)

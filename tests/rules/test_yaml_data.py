"""The rules' YAML data read through libyaml (rules/yaml_data.py) are the documents PyYAML's own safe loader reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rules.yaml_data import SAFE_LOADER, load_yaml

RULES = Path(__file__).parents[2] / "rules"


@pytest.mark.parametrize("path", sorted(RULES.rglob("*.yaml")), ids=lambda p: str(p.relative_to(RULES)))
def test_each_data_file_reads_as_the_python_loader_reads_it(path: Path) -> None:
    raw = path.read_bytes()
    assert load_yaml(raw) == yaml.safe_load(raw) == load_yaml(raw.decode("utf-8"))


def test_the_loader_is_a_safe_one() -> None:
    assert issubclass(SAFE_LOADER, (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    with pytest.raises(yaml.YAMLError):  # no Python object is ever built from a file's tags
        load_yaml("!!python/object/apply:os.system ['true']")
    assert len(list(RULES.rglob("*.yaml"))) >= 4  # the pack, its lexicon, the context lists, the zones' sites

"""Partition roles: GPT names (and APFS volume names) say which volume is userdata, system, vendor …"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from triage.evidence import open_evidence
from triage.evidence.partition_roles import INFERRED_USERDATA, volume_roles

ROOT = Path(__file__).parents[2]
needs_tools = pytest.mark.skipif(
    not (shutil.which("mkfs.ext4") and shutil.which("sgdisk")),
    reason="mkfs.ext4 or sgdisk missing (apt install e2fsprogs gdisk)",
)
MIB = 1 << 20


def test_demo_phone_roles(unchanged):
    demo = ROOT / "fixtures" / "demo" / "demo.E01"
    unchanged(demo)
    with open_evidence(demo) as ev:
        assert volume_roles(ev) == {"p1": "system", "p2": "userdata"}


def test_folders_and_bare_file_systems_have_no_partition_names(tmp_path, unchanged):
    with open_evidence(tmp_path) as ev:
        assert volume_roles(ev) == {}
    sparse = ROOT / "fixtures" / "sparse" / "system.simg"  # a bare ext4: nothing to infer from
    unchanged(sparse)
    with open_evidence(sparse) as ev:
        assert volume_roles(ev) == {"": "other"}


def _disk(tmp_path: Path, partitions: list[tuple[str | None, int]]) -> Path:
    """A GPT disk with one ext4 per partition (name or None for unnamed, size in MiB)."""
    disk = tmp_path / "disk.raw"
    total = 2 + sum(size for _, size in partitions) + 1
    with open(disk, "wb") as f:
        f.truncate(total * MIB)
    args, start = [], 2048
    for number, (name, size) in enumerate(partitions, 1):
        args += ["-n", f"{number}:{start}:+{size}M"] + (["-c", f"{number}:{name}"] if name else [])
        start += size * MIB // 512
    subprocess.run(["sgdisk", *args, str(disk)], check=True, capture_output=True)
    start = 2048
    for number, (_, size) in enumerate(partitions, 1):
        fs = tmp_path / f"p{number}.ext4"
        with open(fs, "wb") as f:
            f.truncate(size * MIB)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(fs)], check=True)
        subprocess.run(
            ["dd", f"if={fs}", f"of={disk}", "bs=512", f"seek={start}", "conv=notrunc", "status=none"], check=True
        )
        start += size * MIB // 512
    return disk


@needs_tools
def test_android_names_with_slots_and_case(tmp_path):
    disk = _disk(tmp_path, [("system_a", 4), ("vendor_b", 2), ("metadata", 2), ("USERDATA", 3), ("modem", 2)])
    with open_evidence(disk) as ev:
        assert volume_roles(ev) == {"p1": "system", "p2": "vendor", "p3": "metadata", "p4": "userdata", "p5": "other"}


@needs_tools
def test_unnamed_partitions_largest_ext4_is_userdata_and_says_so(tmp_path):
    disk = _disk(tmp_path, [(None, 3), (None, 6), (None, 4)])
    with open_evidence(disk) as ev:
        assert volume_roles(ev) == {"p1": "other", "p2": INFERRED_USERDATA, "p3": "other"}

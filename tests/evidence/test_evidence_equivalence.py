"""The demo device, packed as E01, raw, split raw, folder, zip, tar and tar.gz, gives the same records.

The packings are made at test time in pytest's temporary folders from the E01's own contents: the
files of both ext4 volumes (system and userdata) are copied out with their modification times into a
folder, and that folder is packed the way extraction tools pack phones (the zip inside a `Dump/`
wrapper, the tar.gz inside `filesystem1/`, the tar bare). Raw and split raw are the E01's media bytes.
Records are compared after removing what must differ: provenance, record and source ids, layer
chains, inodes and volume ids; `evidence_item` and `custody_event` describe the container itself.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
import zipfile
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from triage.cli import main
from triage.evidence import open_evidence
from triage.evidence.images import EwfImage

ROOT = Path(__file__).parents[2]
DEMO_E01 = ROOT / "fixtures" / "demo" / "demo.E01"
CONTAINER_RECORDS = {"evidence_item.jsonl", "custody_event.jsonl"}
CONTAINER_FIELDS = {"provenance", "id", "source_file_id", "layers", "inode", "volume"}
SPLIT = 16 << 20


@pytest.fixture(scope="module")
def packings(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("packings")
    tree = base / "demo-tree"
    files = copy_out(DEMO_E01, tree)
    assert len(files) >= 12  # build.prop, mmssms.db and the photos
    packed = {"E01": DEMO_E01, "directory": tree}
    packed["zip"] = pack_zip(tree, base / "demo.zip", wrapper="Dump")
    packed["tar"] = pack_tar(tree, base / "demo.tar", wrapper="", mode="w")
    packed["tar.gz"] = pack_tar(tree, base / "demo.tar.gz", wrapper="filesystem1", mode="w:gz")
    packed["raw"], packed["split raw"] = write_raw(DEMO_E01, base)
    return packed


def copy_out(e01: Path, tree: Path) -> list[str]:
    """Every regular file of the E01's volumes into `tree`, with its mtime (a logical extraction)."""
    copied = []
    with open_evidence(e01) as ev:
        for entry in ev.walk():
            if entry.type != "file" or not entry.allocated:
                continue
            target = tree / entry.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(ev.read_bytes(entry))
            stamp = entry.mtime.timestamp()
            os.utime(target, (stamp, stamp))
            copied.append(entry.path)
    return copied


def pack_zip(tree: Path, out: Path, wrapper: str) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                name = f"{wrapper}/{path.relative_to(tree).as_posix()}"
                mtime = int(path.stat().st_mtime)
                info = zipfile.ZipInfo.from_file(path, name)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.extra = struct.pack("<HHBi", 0x5455, 5, 1, mtime)  # UTC mtime, as Info-ZIP writes
                z.writestr(info, path.read_bytes())
    return out


def pack_tar(tree: Path, out: Path, wrapper: str, mode: str) -> Path:
    with tarfile.open(out, mode) as t:
        t.add(tree, arcname=wrapper or ".", recursive=True)
    return out


def write_raw(e01: Path, base: Path) -> tuple[Path, Path]:
    raw, split_dir = base / "demo.raw", base / "split"
    split_dir.mkdir()
    with EwfImage(e01) as image, open(raw, "wb") as out:
        out.write(image.read_at(0, image.size))
    data = raw.read_bytes()
    for i in range(0, len(data), SPLIT):
        (split_dir / f"demo.{i // SPLIT:03d}").write_bytes(data[i : i + SPLIT])
    return raw, split_dir / "demo.000"


def run_records(evidence: Path, out: Path) -> dict[str, list[dict]]:
    with redirect_stdout(io.StringIO()):
        code = main(
            [
                "run",
                str(evidence),
                "--out",
                str(out),
                "--case",
                "EQ",
                "--exhibit",
                "EQ-1",
                "--examiner",
                "Test Examiner",
                "--quiet",
            ]
        )
    assert code == 0, evidence
    records = {}
    for path in sorted((payload(out) / "records").glob("*.jsonl")):
        if path.name in CONTAINER_RECORDS:
            continue
        rows = [strip(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
        records[path.name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    return records


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in CONTAINER_FIELDS}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


@pytest.mark.slow
def test_every_packing_gives_the_records_of_the_e01(packings, tmp_path, unchanged):
    unchanged(*packings.values())
    reference = run_records(packings["E01"], tmp_path / "E01")
    manifest = json.loads((ROOT / "fixtures" / "demo" / "demo.json").read_text(encoding="utf-8"))
    messages = len(manifest["sms"]) + manifest["whatsapp"]["message_count"] + len(manifest["telegram"]["messages"])
    assert len(reference["message.jsonl"]) == messages and len(reference["media_file.jsonl"]) == len(manifest["photos"])
    assert len(reference["device.jsonl"]) == 1
    for name, evidence in packings.items():
        if name == "E01":
            continue
        records = run_records(evidence, tmp_path / name.replace(" ", "-"))
        assert records.keys() == reference.keys(), name
        for kind in reference:
            assert records[kind] == reference[kind], f"{name}: {kind} differs from the E01's"


def test_archive_packings_strip_their_wrappers(packings):
    with open_evidence(packings["zip"]) as ev:
        assert ev.kind == "zip" and ev.layer == "zip demo.zip (root 'Dump/')"
        entry = ev.find("/data/com.android.providers.telephony/databases/mmssms.db")
        assert entry.provenance == (
            "zip demo.zip (root 'Dump/') → /data/com.android.providers.telephony/databases/mmssms.db"
        )
        assert ev.warnings == []
    with open_evidence(packings["tar.gz"]) as ev:
        assert ev.kind == "tar.gz" and ev.layer == "tar.gz demo.tar.gz (root 'filesystem1/')"
        assert ev.find("/system/build.prop").size == 1301
        assert ev.warnings == []
    with open_evidence(packings["tar"]) as ev:
        assert ev.layer == "tar demo.tar" and ev.find("/system/build.prop").size == 1301

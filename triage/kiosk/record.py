"""Export and close: the bundle into the outbox, then the case's kiosk record sealed beside it, then nothing
left on the kiosk.

Where each step is recorded (README "Kiosk", "What is recorded where"):
- the steps before the run (case, legal power, scope, evidence) are parameters of the run: they are in the
  bundle's own custody log (data/custody.jsonl), sealed and signed with it;
- every step, before and after the run (findings viewed, tags, export, wipe, close), is in the case's kiosk
  log, a hash-chained JSON Lines file (triage/integrity/custody.py) sealed at close as a signed addendum to the
  bundle: a BagIt bag whose bag-info.txt names the bundle by the SHA-256 of its two manifests, made with
  the bundle's own sealing code, so `triage verify BUNDLE --addendum RECORD` checks both together.
The record is sealed after the wipe, so its last entries say what was removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from triage import TOOL_NAME, __version__
from triage.bundle.keys import fingerprint, load_private
from triage.bundle.layout import MANIFEST, TAG_MANIFEST
from triage.bundle.recipe import addendum_recipe
from triage.bundle.seal import seal
from triage.errors import TriageError
from triage.integrity.exclusive import write_text_exclusive
from triage.integrity.output_location import bundle_zip_path
from triage.kiosk.flow import TAGS, KioskCase, Step
from triage.model.timeutil import iso, now_utc

RECORD_SUFFIX = "-kiosk-record"
RECORD_JSON = "kiosk-record.json"
CHUNK = 1 << 20


class ExportRefused(TriageError):
    """The case may not be exported as it stands (no legal basis, no finished run)."""


def export_bundle(case: KioskCase, outbox: Path, reason: str) -> Path:
    """Copy the sealed bundle's zip into the outbox (never replacing a file) and record it."""
    if not case.legal:
        # the flow makes this unreachable; checked again here because an export without a recorded legal
        # basis must never happen, whatever path led to it
        # (docs/domain/legal.md, "PCSC Act 2022 s.37 code (extraction of information)")
        case.record("export refused", why="no legal basis recorded")
        raise ExportRefused("export refused: no legal basis is recorded for this case")
    if case.run.status != "finished" or case.run.bundle_zip is None:
        case.record("export refused", why="the run has not finished")
        raise ExportRefused("export refused: the run has not finished")
    source = case.run.bundle_zip
    target = outbox / source.name
    digest, size = _copy_exclusive(source, target)
    if digest != _sha256(source):
        target.unlink(missing_ok=True)
        raise TriageError(f"the copy of {source.name} in the outbox does not match the bundle; nothing was exported")
    case.exported.append(target.name)
    case.done.add(Step.EXPORT)
    case.record(
        "bundle exported",
        file=target.name,
        sha256=digest,
        bytes=size,
        destination="kiosk outbox",
        why=reason,
        tags={str(k): v for k, v in sorted(case.tags.items())},
    )
    return target


def close_case(case: KioskCase, outbox: Path, signing_key: Path | None, why: str) -> Path | None:
    """Wipe the case's working files, record that, seal the kiosk record into the outbox, remove the rest.

    Returns the record's zip (None when nothing was recorded)."""
    removed = wipe_run_files(case)
    case.record(
        "kiosk working files wiped",
        files=removed["files"],
        bytes=removed["bytes"],
        folders=removed["folders"],
        remaining=_remaining(case.work),
        note="the kiosk record itself is moved to the outbox and sealed next; the case folder is then removed",
    )
    case.record(
        "kiosk case closed", why=why, exported=case.exported, tags={str(k): v for k, v in sorted(case.tags.items())}
    )
    try:
        zipped = seal_record(case, outbox, signing_key)
    except Exception as e:
        # the evidence's data is gone already; the log (who did what, no phone data) is kept rather than lost
        raise TriageError(
            f"the kiosk record could not be sealed into the outbox ({type(e).__name__}: {e}); its log "
            f"is kept at {case.log.path if case.log else case.work}: copy it to the evidence store, "
            "then remove it"
        ) from e
    shutil.rmtree(case.work, ignore_errors=True)
    if case.work.exists():  # never silent: the caller shows this and the audit log records it
        raise TriageError(f"the kiosk could not remove {case.work}; remove it by hand and report the fault")
    return zipped


def wipe_run_files(case: KioskCase) -> dict:
    """Remove everything the run left in the case's folder (bundle folder, zip, case store) but the record."""
    files = size = 0
    folders = []
    for entry in sorted(case.work.iterdir()):
        if entry.name == "record":
            continue
        for root, _dirs, names in os.walk(entry):
            for name in names:
                files += 1
                try:
                    size += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
        folders.append(entry.name)
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return {"files": files, "bytes": size, "folders": folders}


def _remaining(work: Path) -> list[str]:
    return sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())


def seal_record(case: KioskCase, outbox: Path, signing_key: Path | None) -> Path | None:
    """The kiosk record as a signed bag in the outbox, naming the bundle when there is one."""
    if case.log is None or not case.log.path.exists():
        return None
    folder = outbox / (case.bundle_name() + RECORD_SUFFIX)
    for taken in (folder, bundle_zip_path(folder)):
        if os.path.lexists(taken):
            raise TriageError(f"{taken} already exists in the outbox; the kiosk never replaces a file")
    folder.mkdir()
    try:
        shutil.copyfile(case.log.path, folder / case.log.path.name)
        key = load_private(signing_key) if signing_key else None
        write_text_exclusive(
            folder / RECORD_JSON, json.dumps(_summary(case, key), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
        identity = case.bundle_identity
        info = {"Addendum-Contents": "kiosk record"}
        recipe = None
        if identity is not None:
            info = {**identity, **info}
            if key is not None:
                recipe = addendum_recipe(
                    folder.name,
                    key.public_key(),
                    identity["Addendum-To-Bundle"],
                    identity["Addendum-To-Tag-Manifest-SHA256"],
                )
        zipped = seal(folder, key, info=info, recipe=recipe)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the zip is the record: the same bytes as the bag
    return zipped


def bundle_identity(folder: Path) -> dict[str, str]:
    """How the record names the bundle (the labels an addendum's bag-info.txt carries, triage/addenda/)."""
    return {
        "Addendum-To-Bundle": folder.name,
        "Addendum-To-Tag-Manifest-SHA256": _sha256(folder / TAG_MANIFEST),
        "Addendum-To-Manifest-SHA256": _sha256(folder / MANIFEST),
    }


def _summary(case: KioskCase, key) -> dict:  # noqa: ANN001 - Ed25519PrivateKey | None
    return {
        "schema": "mobile-triage kiosk record 1",
        "tool": f"{TOOL_NAME} {__version__}",
        "made_utc": iso(now_utc()),
        "operator": case.owner,
        "role": case.role,
        "case": case.details,
        "legal_basis": case.legal,
        "scope": case.scope.to_json() if case.scope else None,
        "scope_why": case.scope_why,
        "evidence": case.evidence.to_json() if case.evidence else None,
        "run": {"status": case.run.status, "error": case.run.error},
        "level": case.level,
        "tags": [{"finding": fid, "tag": tag, "label": TAGS[tag]} for fid, tag in sorted(case.tags.items())],
        "exported": case.exported,
        "bundle": case.bundle_identity,
        "signed_by": fingerprint(key.public_key()) if key is not None else None,
        "log": case.log.path.name if case.log else None,
    }


def _copy_exclusive(source: Path, target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    created = False
    try:
        with open(source, "rb") as src, open(target, "xb") as dst:
            created = True
            while chunk := src.read(CHUNK):
                dst.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            dst.flush()
            os.fsync(dst.fileno())
    except FileExistsError:
        raise TriageError(f"{target} already exists in the outbox; the kiosk never replaces a file") from None
    except BaseException:
        if created:  # ours, half written: an unfinished copy must not look like an export
            target.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()

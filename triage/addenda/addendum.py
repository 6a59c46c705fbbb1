"""A signed addendum: what is added to a sealed bundle after the run, sealed the way the bundle is.

    ADD/                              (and ADD.zip beside it)
      bagit.txt, bag-info.txt         bag-info.txt names the bundle: Addendum-To-Bundle,
                                      Addendum-To-Tag-Manifest-SHA256, Addendum-To-Manifest-SHA256
      manifest-sha256.txt, tagmanifest-sha256.txt(.sig), examiner_public_key.pem, VERIFY.txt
      data/addendum.json              what it adds, as data (declarations, translations with their hashes)
      data/addendum.html              the same for a reader: each translation beside its original (offline)
      data/declarations.yaml          the declarations file as given (when given)
      data/translations.xlf           the XLIFF file as given (when given)

The bag, its manifests and the Ed25519 signature over its tag manifest are made by triage.bundle.seal,
so `triage verify BUNDLE --addendum ADD` checks it with the bundle's own code and trust model.
Nothing is replaced: the folder and the zip are new, and a half-made addendum is removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jinja2 import Environment, PackageLoader, select_autoescape

from triage import TOOL_NAME, __version__
from triage.addenda.bundle_records import BundleIdentity
from triage.addenda.declarations import BUNDLE_NAME as DECLARATIONS_NAME
from triage.addenda.declarations import LoadedDeclarations
from triage.addenda.xliff import ImportOutcome
from triage.bundle.keys import fingerprint
from triage.bundle.recipe import addendum_recipe
from triage.bundle.seal import seal
from triage.errors import TriageError
from triage.integrity.exclusive import write_bytes_exclusive, write_text_exclusive
from triage.integrity.output_location import bundle_zip_path
from triage.model.timeutil import iso, now_utc
from triage.report.display import finalize, isolated, left_to_right, shown

ADDENDUM_JSON = "addendum.json"
ADDENDUM_HTML = "addendum.html"
TRANSLATIONS_NAME = "translations.xlf"
SCHEMA = "mobile-triage addendum 1"

_env = Environment(
    loader=PackageLoader("triage.addenda", "templates"), autoescape=select_autoescape(["html", "j2"]), finalize=finalize
)
_env.filters["shown"] = shown
_env.filters["bdi"] = isolated
_env.filters["ltr"] = left_to_right


@dataclass(frozen=True)
class CertifiedTranslations:
    """Checked translations (xliff.read_translations) with who certified them, when, and the file as given."""

    outcome: ImportOutcome
    translator: str
    day: date
    xliff: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "translator": self.translator,
            "date": self.day.isoformat(),
            "target_language": self.outcome.target_language,
            "file": TRANSLATIONS_NAME,
            "file_sha256": hashlib.sha256(self.xliff).hexdigest(),
            "units": [t.to_json() for t in self.outcome.translations],
            "without_target": self.outcome.without_target,
        }


def addendum_folder(out: Path) -> Path:
    """--out as given: a folder (its zip beside it), or the zip's name (the folder beside it)."""
    return out.with_suffix("") if out.suffix.lower() == ".zip" else out


def make_addendum(
    out: Path,
    identity: BundleIdentity,
    key: Ed25519PrivateKey,
    declarations: LoadedDeclarations | None = None,
    translations: CertifiedTranslations | None = None,
) -> Path:
    """Write and seal the addendum; returns its zip."""
    if declarations is None and translations is None:
        raise TriageError("an addendum needs something to add: --declarations FILE and/or --translations FILE.xlf")
    folder = addendum_folder(out)
    for taken in (folder, bundle_zip_path(folder)):
        if taken.exists() or taken.is_symlink():
            raise TriageError(f"{taken} already exists; mobile-triage never replaces a file (choose another --out)")
    folder.mkdir(parents=True)
    try:
        _write_contents(folder, identity, key, declarations, translations)
        recipe = addendum_recipe(folder.name, key.public_key(), identity.name, identity.tag_manifest_sha256)
        info = {**identity.bag_info(), "Addendum-Contents": _contents(declarations, translations)}
        return seal(folder, key, info=info, recipe=recipe)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # ours, made above: a half-made addendum must not look like one
        raise


def _contents(declarations: LoadedDeclarations | None, translations: CertifiedTranslations | None) -> str:
    return ", ".join(part for part, given in (("declarations", declarations), ("translations", translations)) if given)


def _write_contents(
    folder: Path,
    identity: BundleIdentity,
    key: Ed25519PrivateKey,
    declarations: LoadedDeclarations | None,
    translations: CertifiedTranslations | None,
) -> None:
    record = {
        "schema": SCHEMA,
        "tool": f"{TOOL_NAME} {__version__}",
        "made_utc": iso(now_utc()),
        "addendum_to": {
            "name": identity.name,
            "tag_manifest_sha256": identity.tag_manifest_sha256,
            "manifest_sha256": identity.manifest_sha256,
            "signer": identity.signer,
        },
        "signed_by": fingerprint(key.public_key()),
        "declarations": declarations.to_json() if declarations else None,
        "translations": translations.to_json() if translations else None,
    }
    files = [ADDENDUM_JSON, ADDENDUM_HTML]
    if declarations is not None:
        write_bytes_exclusive(folder / DECLARATIONS_NAME, declarations.raw)
        files.append(DECLARATIONS_NAME)
    if translations is not None:
        write_bytes_exclusive(folder / TRANSLATIONS_NAME, translations.xliff)
        files.append(TRANSLATIONS_NAME)
    text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    write_text_exclusive(folder / ADDENDUM_JSON, text)
    page = _env.get_template("addendum.html.j2").render(
        a=record, d=declarations.view() if declarations else None, t=record["translations"], files=files
    )
    write_text_exclusive(folder / ADDENDUM_HTML, page)

"""`triage verify BUNDLE`: is a bundle (folder or zip) exactly what the examiner sealed, and who sealed it?

Checks (docs/verify.md): the container (one folder, each name once, regular files only, nothing
unreadable); the BagIt tag manifest and each tag file; every payload file against manifest-sha256.txt,
nothing added or missing, Payload-Oxum; the Ed25519 signature over the tag manifest, and whether its key
is one the reader trusts; the custody chain, its closing entry, and its "seal" entry (the signing key and
the report hashes) against the bundle. A zip is read from its central directory and hashed as streams:
nothing is extracted, memory stays bounded whatever a member's size.

With `--addendum A` (repeatable) each signed addendum (triage/addenda/: declarations given later,
certified translations) is checked after the bundle, by the same checks but the custody log: its files
against its manifests, its signature against the keys the reader trusts (never a key it brings), and
that its bag-info.txt names this bundle's tag manifest and payload manifest by their SHA-256. The verdict
is the worst of the bundle's and the addenda's.

Exit codes: 0 INTACT, 1 ALTERED, 2 CANNOT CHECK, 3 INTACT BUT SIGNER NOT CHECKED (or NOT SIGNED), 4 INCOMPLETE.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from triage.bundle.keys import fingerprint, fingerprint_der, key_digests, normalise_fingerprint
from triage.bundle.layout import (
    BAG_INFO,
    BAGIT_DECLARATION,
    BAGIT_TXT,
    CUSTODY,
    MANIFEST,
    PAYLOAD_DIR,
    PUBLIC_KEY,
    REQUIRED_TAG_FILES,
    SIGNATURE,
    SIGNATURE_BYTES,
    TAG_MANIFEST,
    Manifest,
    parse_bag_info,
    parse_manifest,
    shown,
)
from triage.bundle.sources import READ_ERRORS, BundleSource, CannotRead, open_source
from triage.bundle.trust import TrustedKey, trusted_key
from triage.integrity.custody import RUN_FAILED, RUN_FINISHED, ChainCheck, verify_chain_lines

INTACT, ALTERED, CANNOT_CHECK, SIGNER_NOT_CHECKED, INCOMPLETE = 0, 1, 2, 3, 4
SEVERITY = (INTACT, SIGNER_NOT_CHECKED, INCOMPLETE, ALTERED, CANNOT_CHECK)  # the worst status decides the verdict
TAG_LIMIT = 1 << 20  # bagit.txt, bag-info.txt, VERIFY.txt, the key, the signature: small by construction
MANIFEST_LIMIT = 1 << 30  # one line per payload file
CHUNK = 1 << 20


@dataclass(frozen=True)
class Signer:
    fingerprint: str  # SHA256:xxxx:… (raw key)
    fingerprint_der: str  # hex SHA-256 of the DER public key, as openssl + sha256sum print it


@dataclass
class Verification:
    source: str = ""
    problems: list[str] = field(default_factory=list)  # alterations: ALTERED
    incomplete: list[str] = field(default_factory=list)  # the run did not finish: INCOMPLETE
    unreadable: list[str] = field(default_factory=list)  # not a bundle / cannot be read: CANNOT CHECK
    facts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not checked, said plainly
    signed: bool = False  # a signature that verifies with the bundle's key
    signer: Signer | None = None
    trust_given: bool = False
    signer_trusted: bool = False
    custody_entries: int | None = None
    custody_outcome: str = ""
    files_checked: int = 0  # tag and payload files hashed against a manifest
    manifest_sha256: str | None = None  # of manifest-sha256.txt as read: what an addendum names
    tag_manifest_sha256: str | None = None  # of tagmanifest-sha256.txt (the signed file)
    addenda: list[Verification] = field(default_factory=list)  # each --addendum, checked after the bundle
    addendum_to: dict[str, str] | None = None  # an addendum's: the bundle it names (its bag-info.txt)

    @property
    def status(self) -> int:
        """The worst of this bag's own status and its addenda's."""
        return max((self.own_status, *(a.own_status for a in self.addenda)), key=SEVERITY.index)

    @property
    def own_status(self) -> int:
        if self.unreadable:
            return CANNOT_CHECK
        if self.problems:
            return ALTERED
        if self.incomplete:
            return INCOMPLETE
        if not self.trust_given:
            return SIGNER_NOT_CHECKED
        return INTACT if self.signed and self.signer_trusted else ALTERED

    @property
    def verdict(self) -> str:
        return self._verdict(self.status, self.signed and all(a.signed for a in self.addenda))

    @property
    def own_verdict(self) -> str:
        return self._verdict(self.own_status, self.signed)

    @staticmethod
    def _verdict(status: int, signed: bool) -> str:
        if status == SIGNER_NOT_CHECKED:
            return "INTACT BUT SIGNER NOT CHECKED" if signed else "INTACT BUT NOT SIGNED"
        return {INTACT: "INTACT", ALTERED: "ALTERED", CANNOT_CHECK: "CANNOT CHECK", INCOMPLETE: "INCOMPLETE"}[status]

    @property
    def reasons(self) -> list[str]:
        """Every reason the verdict is not INTACT, with its word (ALTERED, INCOMPLETE, CANNOT CHECK)."""
        return (
            [f"ALTERED: {p}" for p in self.problems]
            + [f"INCOMPLETE: {p}" for p in self.incomplete]
            + [f"CANNOT CHECK: {p}" for p in self.unreadable]
        )

    def altered(self, message: str) -> None:
        self.problems.append(message)

    def lines(self) -> list[str]:
        """Problems, facts, notes, each addendum's (prefixed with its name), then the verdict word as the last line."""
        own = self.reasons + [f"ok: {f}" for f in self.facts] + [f"NOTE: {n}" for n in self.notes]
        for addendum in self.addenda:
            name = f"addendum {addendum.source}"
            own += [f"{name}: {line}" for line in addendum.lines()[:-1]] + [f"{name}: {addendum.own_verdict}"]
        return own + [self.verdict]

    def to_json(self) -> dict:
        return {
            "bundle": self.source,
            "status": self.status,
            "verdict": self.verdict,
            "problems": self.problems,
            "incomplete": self.incomplete,
            "cannot_check": self.unreadable,
            "facts": self.facts,
            "notes": self.notes,
            "signed": self.signed,
            "signer": (
                {"fingerprint": self.signer.fingerprint, "fingerprint_der": self.signer.fingerprint_der}
                if self.signer
                else None
            ),
            "trust_given": self.trust_given,
            "signer_trusted": self.signer_trusted if self.trust_given else None,
            "custody": {"entries": self.custody_entries, "outcome": self.custody_outcome},
            "reasons": self.reasons,
            "files_checked": self.files_checked,
            "signature": {
                "signed": self.signed,
                "signer": (self.signer.fingerprint if self.signer else None),
                "trusted": self.signer_trusted if self.trust_given else None,
            },
            "manifest_sha256": self.manifest_sha256,
            "tag_manifest_sha256": self.tag_manifest_sha256,
            **({"addendum_to": self.addendum_to} if self.addendum_to is not None else {}),
            "addenda": [{**a.to_json(), "verdict": a.own_verdict, "status": a.own_status} for a in self.addenda],
        }


def verify(source: Path, trusted: Iterable[TrustedKey | str] = (), addenda: Iterable[Path] = ()) -> Verification:
    """Check a bundle folder or zip, then each addendum. `trusted`: TrustedKey values
    (triage.bundle.trust.gather_trust), or fingerprints (either form) / PEM public key paths as strings.
    Without any, the signer is not checked."""
    trust = [t if isinstance(t, TrustedKey) else trusted_key(t, f"trusted {t}") for t in trusted]
    result = Verification(source=str(source), trust_given=bool(trust))
    try:
        bundle = open_source(source)
    except CannotRead as e:
        result.unreadable.append(str(e))
    else:
        with bundle:
            if BAGIT_TXT in bundle.files:
                BagCheck(bundle, trust, result).run()
            else:
                _check_unsealed(bundle, result)
    result.addenda = [verify_addendum(path, trust, result) for path in addenda]
    return result


def verify_addendum(source: Path, trust: list[TrustedKey], bundle: Verification) -> Verification:
    """An addendum's own checks (a signed BagIt bag without a custody log), then that it names `bundle`."""
    result = Verification(source=str(source), trust_given=bool(trust))
    try:
        addendum = open_source(source)
    except CannotRead as e:
        result.unreadable.append(str(e))
        return result
    with addendum:
        if BAGIT_TXT not in addendum.files:
            result.unreadable.append(f"not an addendum: no {BAGIT_TXT} in {source}")
            return result
        AddendumCheck(addendum, trust, result).run()
    _check_names_bundle(result, bundle)
    return result


ADDENDUM_TO = ("Addendum-To-Bundle", "Addendum-To-Tag-Manifest-SHA256", "Addendum-To-Manifest-SHA256")


def _check_names_bundle(addendum: Verification, bundle: Verification) -> None:
    named = addendum.addendum_to
    if named is None:
        return
    missing = [label for label in ADDENDUM_TO if not named.get(label)]
    if missing:
        addendum.unreadable.append(
            f"not an addendum: its {BAG_INFO} does not name a bundle ({', '.join(missing)} missing)"
        )
        return
    if bundle.tag_manifest_sha256 is None or bundle.manifest_sha256 is None:
        addendum.unreadable.append(
            "the bundle's manifests could not be read, so whether this addendum belongs to it cannot be checked"
        )
        return
    tag_hash, manifest_hash = named["Addendum-To-Tag-Manifest-SHA256"], named["Addendum-To-Manifest-SHA256"]
    if tag_hash != bundle.tag_manifest_sha256 or manifest_hash != bundle.manifest_sha256:
        addendum.altered(
            f"this addendum is not for this bundle: it names the bundle "
            f"{shown(named['Addendum-To-Bundle'])} with {TAG_MANIFEST} SHA-256 {shown(tag_hash)} and "
            f"{MANIFEST} SHA-256 {shown(manifest_hash)}, but this bundle's are "
            f"{bundle.tag_manifest_sha256} and {bundle.manifest_sha256}"
        )
        return
    addendum.facts.append(
        f"names this bundle: {TAG_MANIFEST} SHA-256 {tag_hash} and {MANIFEST} SHA-256 "
        f"{manifest_hash}, as in {shown(bundle.source)}"
    )


class BagCheck:
    """The checks on one sealed bag, in order; each adds problems or facts to the Verification."""

    def __init__(self, bundle: BundleSource, trust: list[TrustedKey], result: Verification) -> None:
        self.bundle, self.trust, self.result = bundle, trust, result
        self.payload_sha256: dict[str, str] = {}  # data/... → SHA-256 of what the bundle holds
        self.tag_manifest: bytes | None = None

    def run(self) -> None:
        self.check_bag()
        self.check_custody()

    def check_bag(self) -> None:
        """Every check but the custody log's: what a bundle and an addendum share."""
        for problem in self.bundle.problems:
            self.result.altered(problem)
        self.check_tag_files()
        manifest = self.check_payload()
        self.check_oxum(manifest)
        self.check_signature()

    # -- tag files -------------------------------------------------------------------------------
    def check_tag_files(self) -> None:
        self.tag_manifest = self.read(TAG_MANIFEST, TAG_LIMIT)
        if self.tag_manifest is None:
            self.result.altered(f"{TAG_MANIFEST} missing: the tag files are not sealed")
            return
        self.result.tag_manifest_sha256 = hashlib.sha256(self.tag_manifest).hexdigest()
        tags = self.parsed(self.tag_manifest, TAG_MANIFEST)
        required = set(REQUIRED_TAG_FILES) | ({PUBLIC_KEY} if PUBLIC_KEY in self.bundle.files else set())
        for name in sorted(required - set(tags.entries)):
            self.result.altered(f"{TAG_MANIFEST} does not list {name}")
        for name in sorted(n for n in tags.entries if n.startswith(PAYLOAD_DIR + "/")):
            self.result.altered(f"{TAG_MANIFEST} lists a payload file: {shown(name)}")
        changed = [
            name
            for name, digest in sorted(tags.entries.items())
            if not name.startswith(PAYLOAD_DIR + "/") and not self.matches(name, digest, "tag file")
        ]
        top_level = {rel for rel in self.bundle.files if "/" not in rel}
        for name in sorted(top_level - set(tags.entries) - {TAG_MANIFEST, SIGNATURE}):
            self.result.altered(f"file added after sealing: {shown(name)}")
        if self.read(BAGIT_TXT, TAG_LIMIT) not in (None, BAGIT_DECLARATION.encode("utf-8")):
            self.result.altered(f"{BAGIT_TXT} is not the BagIt 1.0 declaration")
        if not changed and not tags.problems:
            self.result.facts.append(f"{len(tags.entries)} tag files match {TAG_MANIFEST}")

    # -- payload ---------------------------------------------------------------------------------
    def check_payload(self) -> Manifest:
        text = self.read(MANIFEST, MANIFEST_LIMIT)
        if text is None:
            self.result.altered(f"{MANIFEST} missing: the payload is not sealed")
            return Manifest()
        self.result.manifest_sha256 = hashlib.sha256(text).hexdigest()
        manifest = self.parsed(text, MANIFEST)
        for rel in sorted(r for r in manifest.entries if not r.startswith(PAYLOAD_DIR + "/")):
            self.result.altered(f"{MANIFEST} lists a file outside {PAYLOAD_DIR}/: {shown(rel)}")
        before = len(self.result.problems)
        present = {rel for rel in self.bundle.files if rel.startswith(PAYLOAD_DIR + "/")}
        too_large = self.sealed_octets()
        for rel, digest in sorted(manifest.entries.items()):
            if rel not in self.bundle.files:
                self.result.altered(f"file missing: {shown(rel)}")
            elif not self.oversized(rel, too_large):
                self.matches(rel, digest, "file")
        for rel in sorted(present - set(manifest.entries)):
            self.result.altered(f"file added after sealing: {shown(rel)}")
        self.check_folders(manifest)
        if len(self.result.problems) == before:
            self.result.facts.append(
                f"{len(manifest.entries)} payload files under {PAYLOAD_DIR}/ match {MANIFEST} "
                "(SHA-256); none added, none missing"
            )
        return manifest

    def check_folders(self, manifest: Manifest) -> None:
        """A folder (or a zip directory entry) only where a sealed file lives: an empty extra folder, or a
        folder beside data/, is an addition too."""
        allowed = {PAYLOAD_DIR}
        for rel in manifest.entries:
            parts = rel.split("/")[:-1]
            allowed.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        for rel in sorted(self.bundle.dirs - allowed):
            self.result.altered(f"folder added after sealing: {shown(rel)}/")

    def sealed_octets(self) -> int | None:
        oxum = parse_bag_info(_text(self.read(BAG_INFO, TAG_LIMIT) or b"")).get("Payload-Oxum", "")
        octets = oxum.partition(".")[0]
        return int(octets) if octets.isdigit() else None

    def oversized(self, rel: str, sealed_octets: int | None) -> bool:
        """A member bigger than the whole sealed payload cannot be a sealed file: said, and not hashed
        (a small zip can declare terabytes)."""
        size = self.bundle.size(rel)
        if sealed_octets is None or size is None or size <= sealed_octets:
            return False
        self.result.altered(
            f"file changed: {shown(rel)} ({size} bytes, more than the whole payload that was "
            f"sealed, {sealed_octets} bytes)"
        )
        return True

    def check_oxum(self, manifest: Manifest) -> None:
        info = parse_bag_info(_text(self.read(BAG_INFO, TAG_LIMIT) or b""))
        oxum = info.get("Payload-Oxum")
        listed = [rel for rel in manifest.entries if rel in self.bundle.files]
        actual = f"{sum(self.bundle.size(rel) or 0 for rel in listed)}.{len(listed)}"
        if oxum is None:
            self.result.altered(f"{BAG_INFO} has no Payload-Oxum")
        elif oxum != actual and len(listed) == len(manifest.entries):
            self.result.altered(f"Payload-Oxum {oxum} in {BAG_INFO}, but the payload is {actual} (bytes.files)")

    # -- signature and trust ---------------------------------------------------------------------
    def check_signature(self) -> None:
        signature, pem = self.read(SIGNATURE, TAG_LIMIT), self.read(PUBLIC_KEY, TAG_LIMIT)
        if signature is None and pem is None:
            self.unsigned()
            return
        if signature is None or pem is None:
            missing = SIGNATURE if signature is None else PUBLIC_KEY
            self.result.altered(f"{missing} missing: the bundle carries half a signature")
            return
        key = _public_key(pem)
        if key is None:
            self.result.altered(f"{PUBLIC_KEY} is not an Ed25519 public key")
            return
        self.result.signer = Signer(fingerprint(key), fingerprint_der(key))
        if not self.signature_holds(key, signature):
            return
        self.result.signed = True
        self.result.facts.append(
            f"signature valid: {TAG_MANIFEST} is signed by the key "
            f"{self.result.signer.fingerprint} "
            f"(openssl DER sha256: {self.result.signer.fingerprint_der})"
        )
        self.check_trust(key)

    def signature_holds(self, key: Ed25519PublicKey, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_BYTES:
            self.result.altered(
                f"{SIGNATURE} is {len(signature)} bytes, not a raw {SIGNATURE_BYTES}-byte Ed25519 signature"
            )
            return False
        try:
            key.verify(signature, self.tag_manifest or b"")
        except InvalidSignature:
            self.result.altered(f"signature does not verify: {TAG_MANIFEST} or {SIGNATURE} was changed")
            return False
        return True

    def check_trust(self, key: Ed25519PublicKey) -> None:
        signer = self.result.signer
        assert signer is not None
        if not self.trust:
            self.result.notes.append(
                f"the signer was NOT checked: the bundle is signed by the key {signer.fingerprint} "
                f"(openssl DER sha256: {signer.fingerprint_der}), but no trusted key was given, "
                "and the key a bundle carries proves nothing by itself (anyone can make one). "
                "Compare it with the examiner's published fingerprint, or run again with --trust FINGERPRINT"
            )
            return
        matching = [t for t in self.trust if t.matches(key_digests(key))]
        if matching:
            self.result.signer_trusted = True
            self.result.facts.append(f"the signer is trusted: {matching[0].origin}")
        else:
            self.result.altered(
                f"signed by a key that is not trusted: {signer.fingerprint} (openssl DER sha256: "
                f"{signer.fingerprint_der}) is none of the {len(self.trust)} trusted key(s)"
            )

    def unsigned(self) -> None:
        if self.trust:
            self.result.altered("the bundle is not signed, but a trusted signer was required (--trust)")
        else:
            self.result.notes.append(
                "the bundle is NOT SIGNED: the manifests agree with the files, but nothing ties "
                "them to an examiner (whoever changed a file could have rewritten them)"
            )

    # -- custody ---------------------------------------------------------------------------------
    def check_custody(self) -> None:
        rel = f"{PAYLOAD_DIR}/{CUSTODY}"
        if rel not in self.bundle.files:
            self.result.altered(f"{rel} missing: the examination record is not in the bundle")
            return
        check = self.chain(rel)
        if check is None:
            return
        _report_chain(check, self.result, rel)
        if check.seal is not None:
            self.check_seal_entry(check.seal)
        elif check.outcome == RUN_FINISHED:
            self.result.altered(
                f"{rel} says 'run finished' but has no 'seal' entry naming the signing key and the report hashes"
            )

    def chain(self, rel: str) -> ChainCheck | None:
        try:
            with self.bundle.open(rel) as f:
                return verify_chain_lines(f, require_closed=False)
        except READ_ERRORS as e:
            self.result.altered(f"cannot read {rel}: {_reason(e)}")
            return None

    def check_seal_entry(self, seal: dict) -> None:
        before = len(self.result.problems)
        self.check_seal_key(seal)
        reports = seal.get("reports")
        if not isinstance(reports, dict):
            self.result.altered("the custody log's seal entry has no report hashes")
            return
        for name, digest in sorted(reports.items()):
            rel = f"{PAYLOAD_DIR}/{name}"
            actual = self.payload_sha256.get(rel)
            if actual is None:
                self.result.altered(
                    f"{shown(rel)}, named in the custody log's seal entry, is not in the bundle (or could not be read)"
                )
            elif actual != digest:
                self.result.altered(
                    f"{shown(rel)} is not the report the custody log's seal entry recorded (SHA-256 differs)"
                )
        if len(self.result.problems) == before:
            self.result.facts.append(
                f"the custody log's seal entry names this signing key and the SHA-256 of "
                f"{len(reports)} report files, all as in the bundle"
            )

    def check_seal_key(self, seal: dict) -> None:
        signer = self.result.signer if self.result.signed else None
        if seal.get("signed") and signer is None:
            self.result.altered(
                "the custody log's seal entry says the bundle was signed by "
                f"{seal.get('key_fingerprint')}, but it carries no valid signature"
            )
        elif not seal.get("signed") and signer is not None:
            self.result.altered(
                "the custody log's seal entry says the bundle was not signed, but it carries a "
                f"signature by {signer.fingerprint}"
            )
        elif signer is not None:
            recorded = {
                normalise_fingerprint(str(seal.get("key_fingerprint") or "")),
                normalise_fingerprint(str(seal.get("key_fingerprint_der") or "")),
            }
            if recorded != set(key_digests_of(signer)):
                self.result.altered(
                    f"the key that signed the bundle ({signer.fingerprint}) is not the key the "
                    f"custody log's seal entry names ({seal.get('key_fingerprint')})"
                )

    # -- helpers ---------------------------------------------------------------------------------
    def read(self, rel: str, limit: int) -> bytes | None:
        try:
            return self.bundle.read(rel, limit)
        except READ_ERRORS as e:
            self.result.altered(f"cannot read {shown(rel)}: {_reason(e)}")
            return None

    def parsed(self, data: bytes, name: str) -> Manifest:
        manifest = parse_manifest(_text(data), name)
        for problem in manifest.problems:
            self.result.altered(problem)
        return manifest

    def matches(self, rel: str, digest: str, kind: str) -> bool:
        """Hash every copy of `rel` as a stream; name each that differs or cannot be read."""
        copies = self.bundle.files.get(rel, 0)
        if copies == 0:
            self.result.altered(f"{kind} missing: {shown(rel)}")
            return False
        self.result.files_checked += 1
        ok = True
        for copy in range(copies):
            which = f" (copy {copy + 1} of {copies})" if copies > 1 else ""
            actual = self.sha256(rel, copy)
            if actual is None:
                ok = False
            elif actual != digest:
                self.result.altered(f"{kind} changed: {shown(rel)}{which} (SHA-256 differs from the manifest)")
                ok = False
            if copy == 0 and actual is not None:
                self.payload_sha256[rel] = actual
        return ok

    def sha256(self, rel: str, copy: int) -> str | None:
        digest = hashlib.sha256()
        try:
            with self.bundle.open(rel, copy) as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
        except READ_ERRORS as e:
            self.result.altered(f"cannot read {shown(rel)}: {_reason(e)}")
            return None
        return digest.hexdigest()


class AddendumCheck(BagCheck):
    """An addendum: a signed bag like a bundle, without a custody log; its bag-info.txt names the bundle."""

    def run(self) -> None:
        self.check_bag()
        info = parse_bag_info(_text(self.read(BAG_INFO, TAG_LIMIT) or b""))
        self.result.addendum_to = {label: info.get(label, "") for label in ADDENDUM_TO}


def key_digests_of(signer: Signer) -> tuple[str, str]:
    return normalise_fingerprint(signer.fingerprint) or "", signer.fingerprint_der


def _report_chain(check: ChainCheck, result: Verification, rel: str) -> None:
    result.custody_entries, result.custody_outcome = check.entries, check.outcome
    if not check.linked:
        result.altered(f"custody chain broken at entry {check.broken_line}: {check.reason}")
        return
    result.facts.append(f"custody chain intact ({check.entries} entries, each linked to the SHA-256 of the one before)")
    if check.entries == 0:
        result.incomplete.append(f"{rel} is empty: there is no examination record")
    elif not check.closed:
        result.incomplete.append(
            f"the examination did not finish: {rel} ends at entry {check.entries} without "
            "'run finished' or 'run failed' (its tail was cut off, or the run was killed)"
        )
    elif check.outcome == RUN_FAILED:
        result.incomplete.append(f"the run failed: {check.failure or 'no reason recorded'}")


def _check_unsealed(bundle: BundleSource, result: Verification) -> None:
    """No bagit.txt: a run folder that was never sealed (INCOMPLETE), or not a bundle at all."""
    for rel in (CUSTODY, f"{PAYLOAD_DIR}/{CUSTODY}"):
        if rel in bundle.files:
            result.incomplete.append(
                f"never sealed: there is no {BAGIT_TXT}, manifest or signature (the run did "
                "not finish, or sealing failed)"
            )
            try:
                with bundle.open(rel) as f:
                    check = verify_chain_lines(f, require_closed=False)
            except READ_ERRORS as e:
                result.altered(f"cannot read {rel}: {_reason(e)}")
                return
            _report_chain(check, result, rel)
            return
    if MANIFEST in bundle.files:
        result.unreadable.append(
            f"{MANIFEST} without {BAGIT_TXT}: a bundle from a version before the BagIt layout, "
            "or not a bundle; verify it with that version"
        )
    else:
        result.unreadable.append(f"not a sealed bundle: no {BAGIT_TXT} and no {CUSTODY} in {result.source}")


def _public_key(pem: bytes) -> Ed25519PublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__

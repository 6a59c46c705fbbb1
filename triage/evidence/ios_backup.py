"""iTunes / Finder backups of an iPhone, presented at on-device paths.

A backup folder holds `Info.plist` and `Manifest.plist` (device and backup facts), an index
(`Manifest.db` since iOS 10, `Manifest.mbdb` before) and every backed-up file under a SHA-1 name
(`<fileID[:2]>/<fileID>`, flat `<fileID>` in older backups). The index maps (domain, relativePath)
to the fileID; the domain names a root on the device (HomeDomain → /private/var/mobile …).

Provenance names the hashed file: `iTunes backup <folder> → HomeDomain 3d/3d0d… → /private/var/mobile/
Library/SMS/sms.db`, and the entry's inode is the fileID. Encrypted backups are read with the backup
password (Apple's documented scheme: keybag in Manifest.plist, PBKDF2, AES key wrap, AES-256-CBC);
the decrypted Manifest.db goes to a private temp folder, never next to the evidence.
"""

from __future__ import annotations

import hashlib
import os
import plistlib
import shutil
import sqlite3
import stat
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

from triage.errors import EvidenceError
from triage.evidence.directory import DirectoryEvidence
from triage.evidence.model import Evidence, FileEntry, MediaHashes, ProgressCallback, shown_name, stored_bytes_hex
from triage.sqlite_budget import SqliteBudget

if TYPE_CHECKING:
    from triage.evidence.opener import OpenOptions

BACKUP_VOLUME = "backup"  # the backup's own plists, apart from the device's file system
BACKUP_PLISTS = ("Info.plist", "Manifest.plist", "Status.plist")  # Status.plist: state and date of the backup run
FLAG_TYPES = {1: "file", 2: "dir", 4: "link"}
SPOOL_IN_MEMORY = 16 << 20  # decrypted files up to this size stay in memory, larger go to the system temp dir
CHUNK = 1 << 20
MAX_PBKDF2_ROUNDS = 50_000_000  # a hostile keybag must not make us hash for hours

# Domain → on-device root (facts: iOS file system layout as documented by iLEAPP/MVT/UFADE mappings and
# checked against the paths inside real backups, e.g. HealthDomain holds `Health/…` under ~/Library).
DOMAIN_ROOTS: dict[str, str] = {
    "HomeDomain": "/private/var/mobile",
    "MediaDomain": "/private/var/mobile",
    "CameraRollDomain": "/private/var/mobile",
    "KeyboardDomain": "/private/var/mobile",
    "TonesDomain": "/private/var/mobile",
    "HomeKitDomain": "/private/var/mobile",
    "HealthDomain": "/private/var/mobile/Library",
    "BooksDomain": "/private/var/mobile/Media/Books",
    "RootDomain": "/private/var/root",
    "SystemPreferencesDomain": "/private/var/preferences",
    "WirelessDomain": "/private/var/wireless",
    "KeychainDomain": "/private/var/Keychains",
    "ManagedPreferencesDomain": "/private/var/Managed Preferences",
    "DatabaseDomain": "/private/var/db",
    "InstallDomain": "/private/var/installd",
    "MobileDeviceDomain": "/private/var/MobileDevice",
}
# "<prefix><identifier>" domains: the backup names the container by bundle/group id where the device
# uses a random UUID folder, so the id stands in for the UUID in the presented path.
PREFIXED_DOMAINS: tuple[tuple[str, str], ...] = (
    ("AppDomainGroup-", "/private/var/mobile/Containers/Shared/AppGroup/"),
    ("AppDomainPlugin-", "/private/var/mobile/Containers/Data/PluginKitPlugin/"),
    ("AppDomain-", "/private/var/mobile/Containers/Data/Application/"),
    ("SysContainerDomain-", "/private/var/containers/Data/System/"),
    ("SysSharedContainerDomain-", "/private/var/containers/Shared/SystemGroup/"),
)


def recognise(path: Path, options: OpenOptions) -> IosBackupEvidence | None:
    """A folder with an index (Manifest.db / Manifest.mbdb) and a backup plist is an iTunes backup."""
    if not path.is_dir():
        return None
    indexed = (path / "Manifest.db").is_file() or (path / "Manifest.mbdb").is_file()
    described = any((path / name).is_file() for name in BACKUP_PLISTS)
    return IosBackupEvidence(path, options.backup_password) if indexed and described else None


@dataclass
class Row:
    """One file, directory or link as the backup index names it."""

    file_id: str
    domain: str
    relative_path: str
    flags: int
    meta: dict = field(default_factory=dict)  # Size, LastModified, Birth, LastStatusChange, EncryptionKey …


def device_path(domain: str, relative_path: str) -> str | None:
    """The on-device path of a backed-up file, or None when the domain is unknown."""
    root = DOMAIN_ROOTS.get(domain)
    if root is None:
        for prefix, base in PREFIXED_DOMAINS:
            if domain.startswith(prefix) and len(domain) > len(prefix):
                root = base + domain[len(prefix) :]
                break
    if root is None:
        return None
    return root + "/" + relative_path if relative_path else root


class IosBackupEvidence(Evidence):
    """An iTunes/Finder backup folder: the device's files at their on-device paths, plus the backup plists."""

    kind = "itunes-backup"

    def __init__(self, root: Path, password: str | None = None) -> None:
        self.source = root
        self.root = root.resolve()
        self.layer = f"iTunes backup {self.root.name}"
        self.warnings: list[str] = []
        self._folder = DirectoryEvidence(root)
        self._tempdir: Path | None = None
        self._db: sqlite3.Connection | None = None
        self._class_keys: dict[int, bytes] = {}
        self.manifest_plist = self._read_plist("Manifest.plist")
        self.encrypted = bool(self.manifest_plist.get("IsEncrypted"))
        self._sizes: dict[str, int] = {}  # fileID -> bytes on disk
        self._on_disk = self._hashed_files_on_disk()
        try:
            self._rows = self._load_index(password)
        except BaseException:
            self.close()
            raise
        self._indexed_ids = {r.file_id for r in self._rows}
        self._report_missing_and_unindexed()

    # -- opening ------------------------------------------------------------------------------------
    def _read_plist(self, name: str) -> dict:
        path = self.root / name
        if not path.is_file():
            return {}
        try:
            with open(path, "rb") as f:
                data = plistlib.load(f)
        except Exception as e:  # noqa: BLE001 - plistlib raises several types on damaged input; warned below
            self.warnings.append(f"{self.layer} → /{name}: not a readable property list ({e}); its facts are not used")
            return {}
        return data if isinstance(data, dict) else {}

    def _hashed_files_on_disk(self) -> dict[str, Path]:
        """fileID → its file: `xx/<fileID>` (iOS 10+) or a flat `<fileID>` (older backups)."""
        found: dict[str, Path] = {}
        for entry in sorted(os.scandir(self.root), key=lambda d: d.name):
            if entry.is_dir(follow_symlinks=False) and len(entry.name) == 2:
                for inner in sorted(os.scandir(entry.path), key=lambda d: d.name):
                    if inner.is_file(follow_symlinks=False) and inner.name.startswith(entry.name):
                        found[inner.name] = Path(inner.path)
                        self._sizes[inner.name] = inner.stat(follow_symlinks=False).st_size
            elif entry.is_file(follow_symlinks=False) and _looks_like_file_id(entry.name):
                found[entry.name] = Path(entry.path)
                self._sizes[entry.name] = entry.stat(follow_symlinks=False).st_size
        return found

    def _load_index(self, password: str | None) -> list[Row]:
        if self.encrypted:
            if password is None:
                self.warnings.append(
                    f"encrypted backup: {len(self._on_disk)} files cannot be read without --backup-password "
                    f"(or TRIAGE_BACKUP_PASSWORD); Manifest.db is encrypted too, so their names, domains and "
                    f"paths are unknown; only the backup's own plists (/Info.plist, /Manifest.plist) are listed"
                )
                return []
            self._class_keys = unlock_keybag(self.manifest_plist.get("BackupKeyBag"), password, self.layer)
        if (self.root / "Manifest.db").is_file():
            return self._rows_from_manifest_db()
        return self._rows_from_mbdb()

    def _rows_from_manifest_db(self) -> list[Row]:
        if self.encrypted:
            db_path = self._decrypted_manifest_db()
            uri = f"file:{db_path}?mode=ro"
        else:  # immutable: SQLite neither writes nor creates -wal/-shm beside the evidence
            uri = "file:" + _uri_path(self.root / "Manifest.db") + "?mode=ro&immutable=1"
        budget = SqliteBudget()  # the index is written by whoever made the backup: bounded like any database
        try:
            self._db = sqlite3.connect(uri, uri=True)
            # a name that is not UTF-8 keeps its bytes (escaped when shown) instead of failing the whole index
            self._db.text_factory = _text
            budget.attach(self._db, count_rows=False)
            kind = self._db.execute("SELECT type FROM sqlite_master WHERE name = 'Files' COLLATE NOCASE").fetchone()
            if kind is not None and kind[0] != "table":  # a view would run its author's SQL: never followed
                raise sqlite3.DatabaseError(f"'Files' is a {kind[0]}, not a table")
            cursor = self._db.execute(
                "SELECT fileID, domain, relativePath, flags, file FROM Files ORDER BY domain, relativePath, fileID"
            )
            return [self._row(*values) for values in cursor]
        except sqlite3.Error as e:
            why = budget.message() if budget.reached else str(e)
            raise EvidenceError(
                f"{self.layer}: Manifest.db cannot be read as a backup index ({why}); "
                f"the backup is damaged or not an iTunes backup"
            ) from e

    def _row(self, file_id: str, domain: str, relative_path: str, flags: int, blob: bytes | None) -> Row:
        meta: dict = {}
        if blob:
            try:
                meta = decode_file_blob(blob)
            except Exception as e:  # noqa: BLE001 - a damaged blob costs that file's metadata, not the listing
                self.warnings.append(
                    _shown(
                        f"{self.layer}: metadata of {domain}/{relative_path} (fileID {file_id}) "
                        f"cannot be decoded ({type(e).__name__}: {e}); size and times left empty"
                    )
                )
        return Row(str(file_id), str(domain), str(relative_path or ""), int(flags or 0), meta)

    def _decrypted_manifest_db(self) -> Path:
        wrapped = self.manifest_plist.get("ManifestKey")
        if not isinstance(wrapped, bytes) or len(wrapped) < 8:
            raise EvidenceError(
                f"{self.layer}: Manifest.plist has no ManifestKey; the encrypted Manifest.db cannot be decrypted"
            )
        key = self._file_key(wrapped, "Manifest.db")
        self._tempdir = Path(tempfile.mkdtemp(prefix="triage-itunes-"))  # system temp, never beside the evidence
        target = self._tempdir / "Manifest.db"
        with open(self.root / "Manifest.db", "rb") as src, open(target, "wb") as dst:
            decrypt_cbc_stream(src, dst, key, f"{self.layer} → Manifest.db")
        with open(target, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise EvidenceError(
                    f"{self.layer}: Manifest.db did not decrypt to a database; the backup is "
                    f"damaged or its ManifestKey does not match"
                )
        return target

    def _rows_from_mbdb(self) -> list[Row]:
        with open(self.root / "Manifest.mbdb", "rb") as f:
            data = f.read()
        rows, problem = parse_mbdb(data)
        if problem:
            self.warnings.append(f"{self.layer} → Manifest.mbdb: {problem}; {len(rows)} records read before it")
        return sorted(rows, key=lambda r: (r.domain, r.relative_path, r.file_id))

    def _report_missing_and_unindexed(self) -> None:
        missing = [r for r in self._rows if r.flags == 1 and r.file_id not in self._on_disk]
        if missing:
            sample = ", ".join(f"{r.domain}/{r.relative_path}" for r in missing[:5])
            self.warnings.append(
                f"{self.layer}: {len(missing)} files named in the index are not in the backup "
                f"folder and are not listed (first: {sample})"
            )
        unindexed = sorted(set(self._on_disk) - self._indexed_ids) if self._rows else []
        if unindexed:
            self.warnings.append(
                f"{self.layer}: {len(unindexed)} hashed files are in the folder but not in the "
                f"index; listed under /backup-unindexed/ ({', '.join(unindexed[:5])})"
            )
        self._unindexed = unindexed
        if not self.encrypted:  # encrypted files are padded on disk: their size is compared when decrypted
            differ = [
                r
                for r in self._rows
                if r.flags == 1
                and r.file_id in self._sizes
                and isinstance(r.meta.get("Size"), int)
                and r.meta["Size"] != self._sizes[r.file_id]
            ]
            if differ:
                sample = ", ".join(f"{r.domain}/{r.relative_path}" for r in differ[:5])
                self.warnings.append(
                    f"{self.layer}: {len(differ)} files differ in size from what the index "
                    f"records; their bytes in the folder are used and their size listed "
                    f"as found (first: {sample})"
                )

    # -- listing ------------------------------------------------------------------------------------
    @property
    def container_files(self) -> list[Path]:
        return self._folder.container_files

    def walk(self) -> Iterator[FileEntry]:
        for name in BACKUP_PLISTS:
            path = self.root / name
            if path.is_file():
                yield self._folder_entry(path, "/" + name, BACKUP_VOLUME)
        unknown: set[str] = set()
        for row in self._rows:
            entry = self._entry(row, unknown)
            if entry is not None:
                yield entry
        for file_id in self._unindexed:
            yield self._folder_entry(self._on_disk[file_id], f"/backup-unindexed/{file_id[:2]}/{file_id}", "")

    def _folder_entry(self, path: Path, shown: str, volume: str) -> FileEntry:
        st = path.stat()
        return FileEntry(
            path=shown,
            layers=(self.layer,),
            type="file",
            size=st.st_size,
            inode=path.name,
            volume=volume,
            mtime=_utc(st.st_mtime),
            atime=_utc(st.st_atime),
            ctime=_utc(st.st_ctime),
            handle=("folder", path),
        )

    def _entry(self, row: Row, unknown: set[str]) -> FileEntry | None:
        etype = FLAG_TYPES.get(row.flags, "other")
        if etype == "file" and row.file_id not in self._on_disk:
            return None  # reported once, in _report_missing_and_unindexed
        path = self._path_for(row, unknown)
        # files: the domain and where the bytes are in the folder (`xx/<fileID>`, or flat in old backups)
        layer = (
            f"{row.domain} {self._on_disk[row.file_id].relative_to(self.root).as_posix()}"
            if etype == "file"
            else row.domain
        )
        meta = row.meta
        size = meta.get("Size") if isinstance(meta.get("Size"), int) else None
        if etype == "file" and not self.encrypted:
            size = self._sizes[row.file_id]  # the bytes open() gives, whatever the index said
        raw = path.encode("utf-8", errors="surrogateescape")  # names that are not UTF-8 keep their bytes
        return FileEntry(
            path=shown_name(raw),
            layers=(self.layer, _shown(layer)),
            type=etype,
            size=size,
            inode=row.file_id,
            mtime=_utc(meta.get("LastModified")),
            ctime=_utc(meta.get("LastStatusChange")),
            crtime=_utc(meta.get("Birth")),
            handle=("index", row),
            raw_name_hex=stored_bytes_hex(raw, shown_name(raw)),
        )

    def _path_for(self, row: Row, unknown: set[str]) -> str:
        relative = row.relative_path.strip("/")
        parts = relative.split("/") if relative else []
        if ".." in parts or "." in parts:
            self._warn_once(
                f"{self.layer}: {row.domain} entry '{row.relative_path}' (fileID {row.file_id}) has "
                f"'.'/'..' components; listed under /backup-domain/ with them escaped"
            )
            escaped = "/".join(p.replace(".", "%2E") if p in (".", "..") else p for p in parts)
            return f"/backup-domain/{row.domain}/{escaped}".rstrip("/")
        path = device_path(row.domain, relative)
        if path is None:
            if row.domain not in unknown:
                unknown.add(row.domain)
                self._warn_once(
                    f"{self.layer}: unknown backup domain '{row.domain}'; its files are listed "
                    f"under /backup-domain/{row.domain}/"
                )
            return f"/backup-domain/{row.domain}/{relative}".rstrip("/")
        return path

    def _warn_once(self, message: str) -> None:
        message = _shown(message)
        if message not in self.warnings:  # walk() may run several times
            self.warnings.append(message)

    # -- reading ------------------------------------------------------------------------------------
    def open(self, entry: FileEntry) -> BinaryIO:
        if entry.type != "file":
            raise EvidenceError(f"{entry.provenance} is a {entry.type}, not a regular file")
        kind, what = entry.handle
        if kind == "folder":
            return _open_read_only(what, entry)
        row: Row = what
        path = self._on_disk.get(row.file_id)
        if path is None:
            raise EvidenceError(f"{entry.provenance}: its file {row.file_id} is not in the backup folder")
        if not self.encrypted:
            return _open_read_only(path, entry)
        return self._decrypted(row, path, entry)

    def _decrypted(self, row: Row, path: Path, entry: FileEntry) -> BinaryIO:
        wrapped = row.meta.get("EncryptionKey")
        if not isinstance(wrapped, bytes):
            raise EvidenceError(f"{entry.provenance}: the index holds no EncryptionKey for it; it cannot be decrypted")
        key = self._file_key(wrapped, entry.provenance)
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # spills to the system temp dir
        with _open_read_only(path, entry) as src:
            written = decrypt_cbc_stream(src, out, key, entry.provenance)
        declared = row.meta.get("Size")
        if isinstance(declared, int) and written != declared:
            self._warn_once(
                f"{entry.provenance}: decrypted to {written} bytes, the index says {declared}; "
                f"the decrypted bytes are used as they are"
            )
        out.seek(0)
        return out  # type: ignore[return-value]

    def _file_key(self, wrapped: bytes, what: str) -> bytes:
        """Unwrap a per-file key: 4 bytes protection class (little-endian), then the AES-wrapped key."""
        from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

        protection_class = struct.unpack("<I", wrapped[:4])[0]
        class_key = self._class_keys.get(protection_class)
        if class_key is None:
            raise EvidenceError(
                f"{what}: protection class {protection_class} has no key in the backup keybag; it cannot be decrypted"
            )
        try:
            return aes_key_unwrap(class_key, wrapped[4:])
        except (InvalidUnwrap, ValueError) as e:
            raise EvidenceError(
                f"{what}: its file key does not unwrap with the class key ({e}); the index entry is damaged"
            ) from e

    def media_hashes(self, progress: ProgressCallback | None = None) -> MediaHashes:
        """The backup folder as a whole (manifest of per-file SHA-256, as for any folder)."""
        hashes = self._folder.media_hashes(progress)
        self.warnings.extend(w for w in self._folder.warnings if w not in self.warnings)
        return hashes

    def media_hashes_reusing(
        self, known: Callable[[str], str | None], progress: ProgressCallback | None = None
    ) -> MediaHashes:
        hashes = self._folder.media_hashes_reusing(known, progress)
        self.warnings.extend(w for w in self._folder.warnings if w not in self.warnings)
        return hashes

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)  # the decrypted Manifest.db leaves nothing behind
            self._tempdir = None


# -- the index formats ------------------------------------------------------------------------------
def decode_file_blob(blob: bytes) -> dict:
    """The MBFile object of an NSKeyedArchiver blob (Manifest.db `Files.file`), UIDs followed.

    Returns its keys (Size, Mode, LastModified, Birth, LastStatusChange, ProtectionClass, Target …) with
    EncryptionKey as plain bytes (the archiver wraps it in an NSMutableData dict)."""
    archive = plistlib.loads(blob)
    objects = archive["$objects"]
    top = archive["$top"]["root"]
    root = objects[top.data if isinstance(top, plistlib.UID) else int(top)]

    def follow(value: object) -> object:
        return objects[value.data] if isinstance(value, plistlib.UID) else value

    meta = {k: follow(v) for k, v in root.items() if k != "$class"}
    key = meta.get("EncryptionKey")
    if isinstance(key, dict):
        meta["EncryptionKey"] = key.get("NS.data")
    return meta


def parse_mbdb(data: bytes) -> tuple[list[Row], str]:
    """Records of a Manifest.mbdb (iOS 5-9): strings are 2-byte big-endian length + bytes (0xFFFF = none).

    Returns the rows read and a problem description ("" when the whole file was read)."""
    if not data.startswith(b"mbdb\x05\x00"):
        return [], "not an mbdb index (signature 'mbdb\\x05\\x00' missing)"
    rows: list[Row] = []
    pos = 6
    try:
        while pos < len(data):
            domain, pos = _mbdb_string(data, pos)
            relative, pos = _mbdb_string(data, pos)
            target, pos = _mbdb_string(data, pos)
            _digest, pos = _mbdb_string(data, pos)
            enc_key, pos = _mbdb_string(data, pos)
            mode, _inode, _uid, _gid, mtime, _atime, ctime, size, pclass, nprops = struct.unpack_from(
                ">HQIIIIIQBB", data, pos
            )
            pos += struct.calcsize(">HQIIIIIQBB")
            for _ in range(nprops * 2):
                _, pos = _mbdb_string(data, pos)
            name = f"{_text(domain)}-{_text(relative)}".encode("utf-8", "surrogateescape")
            flags = 2 if stat.S_ISDIR(mode) else 4 if stat.S_ISLNK(mode) else 1 if stat.S_ISREG(mode) else 0
            meta = {
                "Size": size,
                "Mode": mode,
                "LastModified": mtime,
                "LastStatusChange": ctime,
                "ProtectionClass": pclass,
                "Target": _text(target) if target else None,
                "EncryptionKey": enc_key or None,
            }
            rows.append(Row(hashlib.sha1(name).hexdigest(), _text(domain), _text(relative), flags, meta))
    except (struct.error, IndexError):
        return rows, f"truncated record at byte {pos}"
    return rows, ""


def _mbdb_string(data: bytes, pos: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from(">H", data, pos)
    pos += 2
    if length == 0xFFFF:
        return b"", pos
    if pos + length > len(data):
        raise IndexError("string past the end")
    return data[pos : pos + length], pos + length


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="surrogateescape")


def _shown(text: str) -> str:
    """Text that may carry the surrogate escapes of `_text`, with those bytes shown as \\xNN."""
    return shown_name(text.encode("utf-8", errors="surrogateescape"))


# -- encryption (Apple's backup keybag) -------------------------------------------------------------
WRAP_PASSCODE = 2  # class key wrapped with the key derived from the backup password


KeybagValue = bytes | int  # a 4-byte value is read as a big-endian number


def parse_keybag(blob: bytes) -> tuple[dict[bytes, KeybagValue], dict[int, dict[bytes, KeybagValue]]]:
    """TLV blocks (4-byte tag, 4-byte big-endian length): keybag attributes, then one group per class key,
    each starting at a UUID after the keybag's own UUID."""
    attrs: dict[bytes, KeybagValue] = {}
    classes: dict[int, dict[bytes, KeybagValue]] = {}
    current: dict[bytes, KeybagValue] | None = None
    pos = 0
    while pos + 8 <= len(blob):
        tag, length = blob[pos : pos + 4], struct.unpack(">I", blob[pos + 4 : pos + 8])[0]
        raw = blob[pos + 8 : pos + 8 + length]
        pos += 8 + length
        value: KeybagValue = struct.unpack(">I", raw)[0] if length == 4 else raw
        if tag == b"UUID" and b"UUID" in attrs:
            if current is not None and b"CLAS" in current:
                classes[int(current[b"CLAS"])] = current
            current = {b"UUID": value}
        elif current is not None and tag in (b"CLAS", b"WRAP", b"WPKY", b"KTYP", b"PBKY"):
            current[tag] = value
        else:
            attrs.setdefault(tag, value)
    if current is not None and b"CLAS" in current:
        classes[int(current[b"CLAS"])] = current
    return attrs, classes


def unlock_keybag(blob: object, password: str, where: str) -> dict[int, bytes]:
    """Class keys (protection class → AES key) of a backup keybag, or EvidenceError for a wrong password."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

    if not isinstance(blob, bytes):
        raise EvidenceError(f"{where}: Manifest.plist says the backup is encrypted but has no BackupKeyBag")
    attrs, classes = parse_keybag(blob)
    secret = password.encode("utf-8")
    if b"DPSL" in attrs:  # iOS 10.2+: a first, slow PBKDF2-SHA256 round
        secret = PBKDF2HMAC(
            hashes.SHA256(), 32, _bytes(attrs[b"DPSL"]), _rounds(attrs.get(b"DPIC"), "DPIC", where)
        ).derive(secret)
    key = PBKDF2HMAC(hashes.SHA1(), 32, _bytes(attrs.get(b"SALT")), _rounds(attrs.get(b"ITER"), "ITER", where)).derive(
        secret
    )
    keys: dict[int, bytes] = {}
    for number, cls in sorted(classes.items()):
        wpky = cls.get(b"WPKY")
        if not isinstance(wpky, bytes) or not int(cls.get(b"WRAP", 0)) & WRAP_PASSCODE:
            continue
        try:
            keys[number] = aes_key_unwrap(key, wpky)
        except (InvalidUnwrap, ValueError):
            raise EvidenceError(
                f"{where}: wrong backup password (the keybag does not unlock with it); "
                f"give the password set in iTunes/Finder with --backup-password"
            ) from None
    if not keys:
        raise EvidenceError(f"{where}: the backup keybag holds no password-wrapped class keys; cannot decrypt")
    return keys


def _rounds(value: object, name: str, where: str) -> int:
    if not isinstance(value, int) or not 0 < value <= MAX_PBKDF2_ROUNDS:
        raise EvidenceError(
            f"{where}: keybag {name} iteration count {value!r} is missing or implausible; not decrypted"
        )
    return value


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):  # a 4-byte value was read as a number
        return struct.pack(">I", value)
    return b""


def decrypt_cbc_stream(src: BinaryIO, dst: IO[bytes], key: bytes, what: str) -> int:
    """AES-CBC (IV zero) from src to dst, removing the PKCS#7 padding; returns the bytes written."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(b"\x00" * 16)).decryptor()
    held = b""  # the last block is held back: its padding is known only at the end
    written = 0
    while chunk := src.read(CHUNK):
        plain = held + decryptor.update(chunk)
        held, ready = plain[-16:], plain[:-16]
        dst.write(ready)
        written += len(ready)
    try:
        held += decryptor.finalize()
    except ValueError:  # cryptography: "The length of the provided data is not a multiple of the block length"
        raise EvidenceError(
            f"{what}: the encrypted data is not a whole number of AES blocks; the file is truncated or damaged"
        ) from None
    pad = held[-1] if held else 0
    if 1 <= pad <= 16 and held.endswith(bytes([pad]) * pad):
        held = held[:-pad]
    dst.write(held)
    return written + len(held)


# -- small helpers ---------------------------------------------------------------------------------
def _looks_like_file_id(name: str) -> bool:
    return len(name) == 40 and all(c in "0123456789abcdef" for c in name)


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path))


def _open_read_only(path: Path, entry: FileEntry) -> BinaryIO:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return os.fdopen(fd, "rb")
    except OSError as e:
        raise EvidenceError(f"cannot open {entry.provenance}: {e.strerror or e}") from e


def _utc(value: object) -> datetime | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None

"""Android `adb backup` files (`.ab`) and unpacked backup folders, presented at on-device paths.

An `.ab` file is four header lines (`ANDROID BACKUP`, format version, compressed flag, encryption),
for `AES-256` five more (user salt, checksum salt, PBKDF2 rounds, user IV, encrypted master key blob),
then the payload: AES-256-CBC (if encrypted) of zlib (if compressed) of a tar stream whose members are
`apps/<package>/<token>/…` (tokens from AOSP `FullBackup`: `f`, `db`, `sp`, `r`, `c`, `d_f` …).

The payload is decrypted and inflated once, into a temporary file in the system temp folder (never
beside the evidence), and the tar is indexed from there. Provenance names the tar member:
`Android backup backup.ab → tar apps/com.android.providers.telephony/d_f/000000_sms_backup →
/data/user_de/0/com.android.providers.telephony/files/000000_sms_backup`; the entry's inode is the
member's header offset in the tar stream.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from triage.errors import EvidenceError
from triage.evidence.directory import DirectoryEvidence
from triage.evidence.hashing import TripleHasher
from triage.evidence.model import Evidence, FileEntry, MediaHashes, ProgressCallback, shown_name, stored_bytes_hex
from triage.evidence.streams import SeekableReader, buffered

if TYPE_CHECKING:
    from triage.evidence.opener import OpenOptions

AB_MAGIC = b"ANDROID BACKUP"
KNOWN_VERSIONS = (1, 2, 3, 4, 5)  # 1: Android 4.0; 2: 4.4 (Java char checksum quirk); 3-5: later releases
MAX_HEADER_LINE = 4096  # a hex master-key blob is ~200 characters; longer lines are not a header
CHUNK = 1 << 20
BACKUP_VOLUME = "backup"  # backup bookkeeping (`_manifest`, key/value data), apart from the device's files
MAX_PBKDF2_ROUNDS = 50_000_000

# tar token → on-device folder of the package ({pkg}); AOSP FullBackup tokens, user 0
TOKEN_ROOTS: dict[str, str] = {
    "r": "/data/data/{pkg}",
    "f": "/data/data/{pkg}/files",
    "db": "/data/data/{pkg}/databases",
    "sp": "/data/data/{pkg}/shared_prefs",
    "c": "/data/data/{pkg}/cache",
    "nb": "/data/data/{pkg}/no_backup",
    "d_r": "/data/user_de/0/{pkg}",
    "d_f": "/data/user_de/0/{pkg}/files",
    "d_db": "/data/user_de/0/{pkg}/databases",
    "d_sp": "/data/user_de/0/{pkg}/shared_prefs",
    "d_c": "/data/user_de/0/{pkg}/cache",
    "d_nb": "/data/user_de/0/{pkg}/no_backup",
    "ef": "/storage/emulated/0/Android/data/{pkg}/files",
    "obb": "/storage/emulated/0/Android/obb/{pkg}",
    "a": "/data/app/{pkg}",
}
BOOKKEEPING_TOKENS = ("_manifest", "_meta", "k")  # backup metadata and key/value agent data: not device files


def recognise(path: Path, options: OpenOptions) -> Evidence | None:
    """An `.ab` file by its first line; a folder holding an unpacked one by its `apps/<pkg>/<token>` layout."""
    if path.is_file():
        try:
            with open(path, "rb") as f:
                head = f.read(len(AB_MAGIC) + 1)
        except OSError:
            return None
        return AndroidBackupEvidence(path, options) if head == AB_MAGIC + b"\n" else None
    if path.is_dir() and is_unpacked_backup(path):
        return UnpackedAndroidBackup(path)
    return None


@dataclass(frozen=True)
class Placement:
    """Where a backup member is shown: its path, and the volume ("" device files, "backup" bookkeeping)."""

    path: str
    volume: str
    note: str = ""  # why it is not at an on-device path (warned once per kind)


def place(member: str) -> Placement:
    """The on-device place of a backup member name (`apps/<pkg>/<token>/<rest>`, `shared/<user>/<rest>`)."""
    parts = [p for p in member.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        escaped = "/".join("%2E%2E" if p == ".." else p for p in parts)
        return Placement(f"/unsafe/{escaped}", BACKUP_VOLUME, f"member name '{member}' climbs with '..'")
    if len(parts) >= 3 and parts[0] == "apps":
        pkg, token, rest = parts[1], parts[2], parts[3:]
        root = TOKEN_ROOTS.get(token)
        if root is not None:
            return Placement("/".join([root.format(pkg=pkg), *rest]), "")
        note = "" if token in BOOKKEEPING_TOKENS else f"unknown backup token '{token}'"
        return Placement("/" + "/".join(parts), BACKUP_VOLUME, note)
    if len(parts) >= 2 and parts[0] == "shared":  # -shared: external storage of user <n>
        return Placement("/".join([f"/storage/emulated/{parts[1]}", *parts[2:]]), "")
    return Placement("/" + "/".join(parts), BACKUP_VOLUME)


# -- .ab files ---------------------------------------------------------------------------------------
@dataclass
class AbHeader:
    version: int
    compressed: bool
    encryption: str
    user_salt: bytes = b""
    checksum_salt: bytes = b""
    rounds: int = 0
    user_iv: bytes = b""
    master_key_blob: bytes = b""
    payload_offset: int = 0


def read_header(f: BinaryIO, name: str) -> AbHeader:
    """The header lines of an .ab file; EvidenceError names what is wrong with them."""

    def line(what: str) -> str:
        raw = f.readline(MAX_HEADER_LINE)
        if not raw.endswith(b"\n"):
            raise EvidenceError(
                f"{name}: the Android backup header ends before its {what} line; "
                f"the file is truncated or not an .ab file"
            )
        return raw[:-1].decode("ascii", errors="replace").strip()

    if line("signature") != AB_MAGIC.decode():
        raise EvidenceError(f"{name}: not an Android backup (first line is not 'ANDROID BACKUP')")
    version_text = line("version")
    if not version_text.isdigit() or int(version_text) not in KNOWN_VERSIONS:
        raise EvidenceError(
            f"{name}: unknown Android backup format version '{version_text}' (this reader knows "
            f"{KNOWN_VERSIONS[0]}-{KNOWN_VERSIONS[-1]}); not read, as its layout cannot be assumed"
        )
    compressed_text = line("compression")
    if compressed_text not in ("0", "1"):
        raise EvidenceError(f"{name}: compression flag '{compressed_text}' is neither 0 nor 1; not read")
    header = AbHeader(int(version_text), compressed_text == "1", line("encryption"))
    if header.encryption == "AES-256":
        try:
            header.user_salt = bytes.fromhex(line("user salt"))
            header.checksum_salt = bytes.fromhex(line("checksum salt"))
            header.rounds = int(line("PBKDF2 rounds"))
            header.user_iv = bytes.fromhex(line("user IV"))
            header.master_key_blob = bytes.fromhex(line("master key"))
        except ValueError as e:
            raise EvidenceError(f"{name}: the encryption header is damaged ({e}); not read") from e
        if not 0 < header.rounds <= MAX_PBKDF2_ROUNDS:
            raise EvidenceError(f"{name}: implausible PBKDF2 round count {header.rounds}; not read")
    elif header.encryption != "none":
        raise EvidenceError(f"{name}: unknown encryption '{header.encryption}' (known: none, AES-256); not read")
    header.payload_offset = f.tell()
    return header


def java_password_bytes(key: bytes) -> bytes:
    """The master key as Android's checksum sees it: each signed byte widened to a Java char, then the
    char array handed to PBKDF2 as UTF-8 (so 0x80-0xFF become U+FF80-U+FFFF, three bytes each)."""
    return "".join(chr(b if b < 0x80 else 0xFF00 | b) for b in key).encode("utf-8")


def master_key(header: AbHeader, password: str, name: str) -> tuple[bytes, bytes]:
    """(master key, IV) from the encrypted blob; EvidenceError when the password is wrong."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    wrong = EvidenceError(
        f"{name}: wrong backup password (the master key checksum does not match); "
        f"give the password used with 'adb backup' via --backup-password"
    )
    user_key = PBKDF2HMAC(hashes.SHA1(), 32, header.user_salt, header.rounds).derive(password.encode("utf-8"))
    if len(header.master_key_blob) % 16 or len(header.user_iv) != 16:
        raise EvidenceError(f"{name}: the master key blob or user IV has a wrong length; the header is damaged")
    decryptor = Cipher(algorithms.AES(user_key), modes.CBC(header.user_iv)).decryptor()
    blob = decryptor.update(header.master_key_blob) + decryptor.finalize()
    pad = blob[-1] if blob else 0
    if not 1 <= pad <= 16 or not blob.endswith(bytes([pad]) * pad):
        raise wrong
    fields, pos = [], 0
    blob = blob[:-pad]
    for _ in range(3):  # IV, key, checksum: each one length byte then that many bytes
        if pos >= len(blob) or pos + 1 + blob[pos] > len(blob):
            raise wrong
        fields.append(blob[pos + 1 : pos + 1 + blob[pos]])
        pos += 1 + blob[pos]
    iv, key, checksum = fields
    key_text = java_password_bytes(key) if header.version >= 2 else key
    if PBKDF2HMAC(hashes.SHA1(), 32, header.checksum_salt, header.rounds).derive(key_text) != checksum:
        raise wrong
    return key, iv


@dataclass
class Member:
    name: str
    type: str
    size: int
    data_offset: int
    header_offset: int
    mtime: datetime | None
    available: int  # bytes of its data present in the decoded stream (less than size when truncated)


class AndroidBackupEvidence(Evidence):
    """An `.ab` file: decoded once into a private temp file, its tar members at on-device paths."""

    kind = "android-backup"

    def __init__(self, path: Path, options: OpenOptions) -> None:
        self.source = path
        self.layer = f"Android backup {path.name}"
        self.warnings: list[str] = []
        self.options = options
        self._lock = threading.Lock()
        self._members: list[Member] = []
        self._tar: BinaryIO | None = None
        with open(path, "rb") as f:
            self.header = read_header(f, path.name)
            if self.header.encryption != "none" and options.backup_password is None:
                self.warnings.append(
                    f"{self.layer}: encrypted backup (AES-256): none of its files can be read "
                    f"or listed without --backup-password (or TRIAGE_BACKUP_PASSWORD)"
                )
                return
            self._tar = tempfile.TemporaryFile(prefix="triage-ab-")  # system temp; deleted when closed
            try:
                self._decode(f)
                self._members = self._index()
            except BaseException:
                self.close()
                raise

    # -- decoding -----------------------------------------------------------------------------------
    def _decode(self, f: BinaryIO) -> None:
        """Payload → (AES-256-CBC) → (zlib) → temp file, in one streaming pass with a size limit."""
        assert self._tar is not None
        decryptor = None
        if self.header.encryption == "AES-256":
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

            key, iv = master_key(self.header, self.options.backup_password or "", self.source.name)
            decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        inflater = zlib.decompressobj() if self.header.compressed else None
        sink = _LimitedSink(self._tar, self.options.max_total_bytes, self.layer, self.warnings)
        held = b""  # the last cipher block: its padding is known only at the end
        try:
            while (chunk := f.read(CHUNK)) and not sink.full:
                if decryptor is not None:
                    plain = held + decryptor.update(chunk)
                    held, chunk = plain[-16:], plain[:-16]
                self._feed(inflater, chunk, sink)
            if decryptor is not None and not sink.full:
                self._feed(inflater, self._unpad(held, decryptor), sink)
        except zlib.error as e:
            self.warnings.append(
                f"{self.layer}: the compressed stream is damaged after {sink.written} bytes of "
                f"tar ({e}); what came before is listed"
            )
        if inflater is not None and not inflater.eof and not sink.full:
            self.warnings.append(
                f"{self.layer}: truncated: the compressed stream ends before its end marker "
                f"({sink.written} bytes of tar recovered); files after that point are missing"
            )
        elif inflater is not None and inflater.unused_data:
            self.warnings.append(
                f"{self.layer}: {len(inflater.unused_data)} bytes after the end of the compressed stream are ignored"
            )

    def _feed(self, inflater: zlib._Decompress | None, data: bytes, sink: _LimitedSink) -> None:
        if inflater is None:
            sink.write(data)
            return
        while data and not inflater.eof and not sink.full:
            sink.write(inflater.decompress(data, CHUNK))  # bounded output per call: no bomb in memory
            data = inflater.unconsumed_tail

    def _unpad(self, held: bytes, decryptor: object) -> bytes:
        try:
            held += decryptor.finalize()  # type: ignore[attr-defined]
        except ValueError:
            self.warnings.append(
                f"{self.layer}: truncated: the encrypted payload is not a whole number of AES "
                f"blocks; its last partial block is dropped"
            )
            return held
        pad = held[-1] if held else 0
        if 1 <= pad <= 16 and held.endswith(bytes([pad]) * pad):
            return held[:-pad]
        self.warnings.append(
            f"{self.layer}: the encrypted payload's final padding is invalid (truncated or "
            f"damaged); its last block is kept as decrypted"
        )
        return held

    # -- indexing -----------------------------------------------------------------------------------
    def _index(self) -> list[Member]:
        assert self._tar is not None
        size = self._tar.seek(0, io.SEEK_END)
        self._tar.seek(0)
        members: list[Member] = []
        try:
            with tarfile.open(fileobj=self._tar, mode="r:") as tar:
                for info in tar:
                    available = max(0, min(info.size, size - info.offset_data)) if info.isreg() else 0
                    members.append(
                        Member(
                            info.name,
                            _tar_type(info),
                            info.size if info.isreg() else 0,
                            info.offset_data,
                            info.offset,
                            _mtime(info.mtime),
                            available,
                        )
                    )
        except (tarfile.TarError, EOFError, OSError) as e:
            self.warnings.append(
                f"{self.layer}: the tar stream is damaged or truncated after {len(members)} "
                f"members ({type(e).__name__}: {e}); those members are listed"
            )
        for m in members:
            if m.type == "file" and m.available < m.size:
                self.warnings.append(
                    f"{self.layer}: truncated: tar member {_shown(m.name)} has {m.available} of its "
                    f"{m.size} bytes; only those are read"
                )
        return members

    # -- Evidence interface -------------------------------------------------------------------------
    @property
    def container_files(self) -> list[Path]:
        return [self.source]

    def walk(self) -> Iterator[FileEntry]:
        for m in self._members:
            raw = m.name.encode("utf-8", errors="surrogateescape")  # bytes that are not UTF-8: kept as hex
            name = _shown(m.name)
            where = place(name)
            if where.note:
                self._warn_once(f"{self.layer}: {where.note}; shown at {where.path} in volume '{where.volume}'")
            yield FileEntry(
                path=where.path,
                layers=(self.layer, f"tar {name}"),
                type=m.type,
                size=m.available if m.type == "file" else None,
                inode=str(m.header_offset),
                volume=where.volume,
                mtime=m.mtime,
                handle=m,
                raw_name_hex=stored_bytes_hex(raw, name),
            )

    def open(self, entry: FileEntry) -> BinaryIO:
        m: Member = entry.handle
        if entry.type != "file" or self._tar is None:
            raise EvidenceError(f"{entry.provenance} is a {entry.type}, not a regular file")
        return buffered(_Slice(self._tar, self._lock, m.data_offset, m.available))

    def media_hashes(self, progress: ProgressCallback | None = None) -> MediaHashes:
        """MD5/SHA-1/SHA-256 of the .ab file as acquired (the encrypted/compressed bytes)."""
        hasher, total, done = TripleHasher(), self.source.stat().st_size, 0
        try:
            with open(self.source, "rb") as f:
                while chunk := f.read(8 * CHUNK):
                    hasher.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        finally:
            digests = hasher.finish()
        return MediaHashes(
            size=done,
            md5=digests["md5"],
            sha1=digests["sha1"],
            sha256=digests["sha256"],
            headers={
                "format": f"Android backup v{self.header.version}",
                "compressed": str(self.header.compressed).lower(),
                "encryption": self.header.encryption,
            },
        )

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()  # a TemporaryFile vanishes when closed
            self._tar = None

    def _warn_once(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


class _LimitedSink:
    """Writes decoded bytes, stopping (with a warning) at the configured total: a zlib bomb ends here."""

    def __init__(self, out: BinaryIO, limit: int, layer: str, warnings: list[str]) -> None:
        self.out, self.limit, self.layer, self.warnings = out, limit, layer, warnings
        self.written = 0
        self.full = False

    def write(self, data: bytes) -> None:
        if self.full or not data:
            return
        room = self.limit - self.written
        if len(data) > room:
            data = data[:room]
            self.full = True
            self.warnings.append(
                f"{self.layer}: the decoded backup exceeds the limit of {self.limit} bytes "
                f"(max_total_bytes); decoding stopped there, later files are not listed"
            )
        self.out.write(data)
        self.written += len(data)


class _Slice(SeekableReader):
    """A read-only window on the decoded tar (shared file; reads are positioned under a lock)."""

    def __init__(self, f: BinaryIO, lock: threading.Lock, start: int, size: int) -> None:
        super().__init__(size)
        self._f, self._lock, self._start = f, lock, start

    def _read_at(self, offset: int, size: int) -> bytes:
        with self._lock:
            self._f.seek(self._start + offset)
            return self._f.read(size)


# -- unpacked backups (a folder with apps/<pkg>/<token>/…) ---------------------------------------------
def is_unpacked_backup(path: Path) -> bool:
    """Top level holds `apps/` (and perhaps `shared/` and loose files), and some `apps/<pkg>/` a known token."""
    try:
        top_dirs = {p.name for p in path.iterdir() if p.is_dir() and not p.is_symlink()}
        if "apps" not in top_dirs or not top_dirs <= {"apps", "shared"}:
            return False
        for pkg in (path / "apps").iterdir():
            if pkg.is_dir() and any((pkg / t).exists() for t in (*TOKEN_ROOTS, *BOOKKEEPING_TOKENS)):
                return True
    except OSError:
        return False
    return False


class UnpackedAndroidBackup(DirectoryEvidence):
    """A folder holding an unpacked `.ab` (what `abe unpack` + `tar x` give): members at on-device paths."""

    kind = "android-backup-folder"

    def walk(self) -> Iterator[FileEntry]:
        for entry in super().walk():
            where = place(entry.path.lstrip("/"))
            if where.note:
                self._warn(f"{self.layer}: {where.note}; shown at {where.path} in volume '{where.volume}'")
            yield replace(entry, path=where.path, volume=where.volume, layers=(self.layer, entry.path.lstrip("/")))


def _tar_type(info: tarfile.TarInfo) -> str:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym() or info.islnk():
        return "link"
    return "other"


def _mtime(value: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(value, UTC) if value > 0 else None
    except (OverflowError, OSError, ValueError):
        return None


def _shown(name: str) -> str:
    """A member name from tarfile (surrogate escapes for bytes that are not UTF-8) as text with \\xNN."""
    return shown_name(name.encode("utf-8", errors="surrogateescape"))

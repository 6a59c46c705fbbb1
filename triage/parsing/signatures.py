"""What a file's first bytes say it is, in words an examiner reads in a warning ("a JPEG image").

Used when a parser refuses a file at one of its paths: "not a SQLite database" says what the file is
not; the signature says what it is (a photo saved under a database's name, a text file, a zip …).
Only formats met on phones are named; anything else stays unnamed rather than guessed. The magic
numbers are the formats' own (JPEG SOI, PNG, GIF, TIFF, ISO BMFF `ftyp`, zip local header, gzip,
PDF, bplist, ABX, SQLite WAL and rollback journal headers).
"""

from __future__ import annotations

# (offset, magic, what it is); the first match wins, so longer magics come before their prefixes
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"%PDF-", "PDF document"),
    (0, b"PK\x03\x04", "zip archive"),
    (0, b"PK\x05\x06", "zip archive (empty)"),
    (0, b"\x1f\x8b", "gzip stream"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (0, b"bplist", "binary property list"),
    (0, b"ABX\x00", "Android Binary XML file"),
    (0, b"ANDROID BACKUP", "Android backup (.ab)"),
    (0, bytes.fromhex("377f0682"), "SQLite write-ahead log"),
    (0, bytes.fromhex("377f0683"), "SQLite write-ahead log"),
    (0, bytes.fromhex("d9d505f920a163d7"), "SQLite rollback journal"),
    (0, b"SQLite format 3\x00", "SQLite database"),
)
STILL_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
TEXT_CONTROLS = set(b"\t\n\r\f")


def describe(header: bytes) -> str | None:
    """What the first bytes say the file is ("JPEG image", "text"), or None when they say nothing known."""
    for offset, magic, what in SIGNATURES:
        if header[offset : offset + len(magic)] == magic:
            return what
    if header[4:8] == b"ftyp":  # ISO base media: the brand tells a still image from a video
        return "HEIF image" if header[8:12] in STILL_BRANDS else "MP4/QuickTime video"
    if header.lstrip()[:5] in (b"<?xml", b"<plis", b"<!DOC"):
        return "XML file"
    return "text" if _looks_like_text(header) else None


def _looks_like_text(header: bytes) -> bool:
    """UTF-8 without control characters other than tab and line ends (a cut multi-byte tail is allowed)."""
    if not header:
        return False
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason != "unexpected end of data":  # a character cut by the header's end is still text
            return False
        text = header[: e.start].decode("utf-8")
    return all(ch.isprintable() or ord(ch) in TEXT_CONTROLS for ch in text)

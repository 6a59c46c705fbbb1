"""Decompression of F2FS compressed clusters (LZ4, zstd; LZO when python-lzo is installed).

A compressed cluster starts with a 24-byte header (compressed length, checksum, 4 reserved words)
followed by the compressed bytes; it always expands to the full cluster size.
"""

from __future__ import annotations

import struct

from triage.evidence.f2fs.layout import F2fsError

HEADER = 24
LZO, LZ4, ZSTD, LZORLE = 0, 1, 2, 3


def cluster_payload(raw: bytes) -> bytes:
    """The compressed bytes of a cluster read from its blocks."""
    if len(raw) < HEADER:
        raise F2fsError("compressed cluster shorter than its header")
    clen = struct.unpack_from("<I", raw, 0)[0]
    if clen > len(raw) - HEADER:
        raise F2fsError(f"compressed cluster claims {clen} bytes but its blocks hold {len(raw) - HEADER}")
    return raw[HEADER : HEADER + clen]


def decompress(algorithm: int, payload: bytes, size: int) -> bytes:
    """`payload` expanded to at most `size` bytes; F2fsError when the algorithm is unsupported or the data bad."""
    try:
        if algorithm == LZ4:
            import lz4.block

            return lz4.block.decompress(payload, uncompressed_size=size)
        if algorithm == ZSTD:
            import zstandard

            return zstandard.ZstdDecompressor().decompress(payload, max_output_size=size)
        if algorithm == LZO:
            return _lzo(payload, size)
    except F2fsError:
        raise
    except Exception as e:  # each library has its own error type; all mean "damaged cluster"
        raise F2fsError(f"compressed cluster cannot be decompressed ({type(e).__name__}: {e})") from e
    raise F2fsError(unsupported_reason(algorithm) or f"algorithm {algorithm}")


def unsupported_reason(algorithm: int) -> str | None:
    """Why clusters of this algorithm cannot be read here, or None when they can."""
    if algorithm in (LZ4, ZSTD):
        return None
    if algorithm == LZO:
        try:
            import lzo  # noqa: F401

            return None
        except ImportError:
            return "compressed with LZO, and python-lzo is not installed"
    if algorithm == LZORLE:
        return "compressed with LZO-RLE, which this reader cannot decompress"
    return f"compressed with unknown algorithm {algorithm}"


def _lzo(payload: bytes, size: int) -> bytes:
    try:
        import lzo  # python-lzo: optional, it needs liblzo2 to build
    except ImportError:
        raise F2fsError(
            "compressed with LZO, and python-lzo is not installed (pip install python-lzo, which needs liblzo2-dev)"
        ) from None
    return lzo.decompress(payload, False, size)

"""A small camera-like JPEG with EXIF GPS, for the benchmark tree generator.

`../shared/bench/gen_android_tree.py` imports `jpeg_with_gps(lat, lon, when) -> bytes` from a module
named `jpeg_gps` that is not shipped beside it; `bench/side_by_side.py` puts this folder on its path.
The generator expects the EXIF APP1 segment straight after SOI (it strips that segment for photos
without GPS). Standard library only; the image data is a fixed 8x8 grey baseline JPEG (made once with
Pillow at quality 50), so the output is byte-identical for the same arguments.
"""

from __future__ import annotations

import struct

# SOI and APP0 removed: quantisation/Huffman tables, frame header, scan and EOI of the 8x8 image
_IMAGE_BODY = bytes.fromhex(
    "ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123251d283a333d3c3933383740485c4e4044574537"
    "38506d51575f626768673e4d71797064785c656763ffdb0043011112121815182f1a1a2f634238426363636363636363"
    "636363636363636363636363636363636363636363636363636363636363636363636363636363636363ffc000110800"
    "08000803012200021101031101ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc4"
    "00b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c115"
    "52d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63646566"
    "6768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2"
    "c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f01000301010101"
    "01010101010000000000000102030405060708090a0bffc400b511000201020404030407050404000102770001020311"
    "04052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35"
    "363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a9293"
    "9495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6"
    "e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f0028a28ab20fffd9"
)

_ASCII, _SHORT, _LONG, _RATIONAL, _BYTE = 2, 3, 4, 5, 1


def jpeg_with_gps(lat: float, lon: float, when: str = "2025:01:01 12:00:00") -> bytes:
    """SOI, an EXIF APP1 (IFD0 -> Exif IFD with DateTimeOriginal, GPS IFD), then the image."""
    tiff = _tiff(lat, lon, when)
    app1 = b"Exif\x00\x00" + tiff
    return b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + _IMAGE_BODY


def _tiff(lat: float, lon: float, when: str) -> bytes:
    # layout: header(8) | IFD0 (2 entries) | Exif IFD (1 entry) | GPS IFD (5 entries) | data area
    ifd0_at = 8
    ifd0_len = 2 + 2 * 12 + 4
    exif_at = ifd0_at + ifd0_len
    exif_len = 2 + 1 * 12 + 4
    gps_at = exif_at + exif_len
    gps_len = 2 + 5 * 12 + 4
    data_at = gps_at + gps_len
    when_bytes = when.encode("ascii")[:19] + b"\x00"
    lat_vals, lon_vals = _dms(abs(lat)), _dms(abs(lon))
    data = when_bytes + lat_vals + lon_vals
    when_off, lat_off, lon_off = data_at, data_at + len(when_bytes), data_at + len(when_bytes) + len(lat_vals)
    out = b"MM\x00\x2a" + struct.pack(">I", ifd0_at)
    out += _ifd([(0x8769, _LONG, 1, struct.pack(">I", exif_at)), (0x8825, _LONG, 1, struct.pack(">I", gps_at))])
    out += _ifd([(0x9003, _ASCII, len(when_bytes), struct.pack(">I", when_off))])
    out += _ifd(
        [
            (0x0000, _BYTE, 4, bytes([2, 3, 0, 0])),
            (0x0001, _ASCII, 2, (b"N" if lat >= 0 else b"S") + b"\x00\x00\x00"),
            (0x0002, _RATIONAL, 3, struct.pack(">I", lat_off)),
            (0x0003, _ASCII, 2, (b"E" if lon >= 0 else b"W") + b"\x00\x00\x00"),
            (0x0004, _RATIONAL, 3, struct.pack(">I", lon_off)),
        ]
    )
    return out + data


def _ifd(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    body = struct.pack(">H", len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack(">HHI", tag, kind, count) + value.ljust(4, b"\x00")
    return body + struct.pack(">I", 0)


def _dms(value: float) -> bytes:
    """Degrees, minutes, seconds as three rationals (seconds to 1/10000)."""
    degrees = int(value)
    minutes_f = (value - degrees) * 60
    minutes = int(minutes_f)
    seconds = round((minutes_f - minutes) * 60 * 10000)
    return struct.pack(">IIIIII", degrees, 1, minutes, 1, seconds, 10000)

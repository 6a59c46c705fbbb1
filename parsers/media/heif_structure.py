"""HEIF/HEIC box structure check: box sizes that do not fit their parent or the file.

libheif and exifread refuse such a file with messages that do not say where it is damaged
("AssertionError", "cannot identify image file"); this walk names the box, its offset and what is
wrong, with the box walker the video parser uses (parsers/media/video_metadata.py). It checks the top level,
the `meta` box (a FullBox: 4 bytes of version and flags before its children) and the property boxes.
"""

from __future__ import annotations

from typing import BinaryIO

from parsers.media.video_metadata import Box, VideoMeta, iter_boxes

CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"dinf": 0}  # box -> bytes before its children


def check_heif(f: BinaryIO, size: int) -> list[str]:
    """What is wrong with the box structure of an ISO-BMFF still image (empty list: nothing found)."""
    sink = VideoMeta()  # the walker records its problems there
    seen_meta = False
    for box in iter_boxes(f, 0, size, sink):
        if box.type == b"meta":
            seen_meta = True
        _walk(f, box, sink)
    if not seen_meta and not sink.problems:
        sink.problems.append("no 'meta' box: the image items cannot be located")
    return [f"HEIF box structure: {p}" for p in sink.problems]


def _walk(f: BinaryIO, box: Box, sink: VideoMeta) -> None:
    skip = CONTAINERS.get(box.type)
    if skip is None:
        return
    for child in iter_boxes(f, box.body + skip, box.end, sink):
        _walk(f, child, sink)

"""Thumbnails of the photos in the evidence, for the report (out/thumbs/<sha256>.jpg): a step of the run.

The run makes them after its passes, before the report, so the report reads only the case store and never
the evidence. The evidence is opened again, read-only, after the run's own reading and hashing; a thumbnail is made
only when the bytes read hash to the MediaFile's recorded SHA-256, so every picture in the report is
provably of the file it is shown for. Thumbnails are small JPEGs without metadata, named by that
SHA-256 and encoded with fixed settings: the same evidence gives the same bytes. A file that cannot be
read or decoded gets no thumbnail and a reason, shown next to it in the report.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from parsers.media.hints import TooLargeToDecode, refuse_to_decode_if_too_large, register_heif
from triage.integrity.exclusive import ExistingFileError, write_bytes_exclusive
from triage.model.records import Finding, Location, MediaFile, SourceFile
from triage.parsing.worker_deaths import Alone, Deaths, Died

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

    from triage.evidence.opener import OpenOptions

THUMB_DIR = "thumbs"
MAX_SIDE = 240  # pixels, longest side
MAX_THUMBS = 1000  # a gallery larger than this lists every file but pictures only the first ones (cited first)
MAX_SOURCE_BYTES = 64 * 1024 * 1024  # larger files are listed without a picture
_IMAGE_MIMES = ("image/",)


class OutputFailed(Exception):
    """Writing a thumbnail failed (no space, a file already there): not the evidence's fault, not a warning."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Thumbnails:
    made: dict[int, str] = field(default_factory=dict)  # media id -> path relative to the out folder
    missing: dict[int, str] = field(default_factory=dict)  # media id -> why there is no picture (of those tried)
    note: str = ""  # one line for the report: what was done, or why nothing was
    tried: set[int] = field(default_factory=set)  # media ids chosen for a picture (at most MAX_THUMBS)
    capped: bool = False  # more images than MAX_THUMBS: those not tried are past the limit

    @property
    def files(self) -> list[str]:
        return sorted(set(self.made.values()))

    def reason(self, media: Any) -> str:  # a MediaFile, or a row of its columns
        """Why a media file has no picture (shown in its place): per file, or past the cap, or not an image."""
        media_id = media.id
        if media_id in self.missing:
            return self.missing[media_id]
        if (getattr(media, "mime", None) or "").startswith(_IMAGE_MIMES) and self.capped and media_id not in self.tried:
            return f"no thumbnail: past the limit of {MAX_THUMBS} pictures per report"
        return "no thumbnail: not an image"


def make_thumbnails(
    session: Session, evidence_path: Path | None, options: OpenOptions | None, out: Path, first: Iterable[int] = ()
) -> Thumbnails:
    """Thumbnails for image MediaFiles, at most MAX_THUMBS: `first` names media ids that come before the cap
    (cited ones), the rest in id order. Only the chosen files are read from the store (SQL picks them)."""
    result = Thumbnails()
    images = _image_count(session)
    if not images:
        result.note = "no image files were recorded"
        return result
    if evidence_path is None:
        result.note = "thumbnails not made: the evidence was not available to the report"
        return result
    wanted = _chosen_images(session, list(dict.fromkeys(first)))
    result.tried = {m.id for m in wanted}
    result.capped = images > len(wanted)
    try:
        _read_and_shrink(wanted, _sources(session, wanted), evidence_path, options, out, result)
    except OutputFailed as e:  # the output folder, not the evidence, failed: the bundle cannot be complete
        raise e.error from None
    except Exception as e:  # noqa: BLE001 - the report must still be written: the note says why no pictures
        result.note = f"thumbnails not made: evidence could not be reopened ({type(e).__name__}: {e})"
        for m in wanted:
            result.missing.setdefault(m.id, "no thumbnail: evidence could not be reopened")
        return result
    result.note = (
        f"{len(result.made)} of {images} image file(s) shown as thumbnails, read again from the "
        f"evidence and checked against their recorded SHA-256"
    )
    return result


def cited_media(session: Session) -> list[int]:
    """Photos the findings cite (directly or through their position), in the findings' order: pictured
    before the thumbnail cap."""
    refs = [
        ref
        for finding in session.scalars(select(Finding).order_by(Finding.id))
        for ref in finding.evidence or []
        if isinstance(ref.get("id"), int) and ref.get("type") in ("media_file", "location")
    ]
    positions = sorted({ref["id"] for ref in refs if ref["type"] == "location"})
    photo_of: dict[int, int] = {}
    for start in range(0, len(positions), 500):
        photo_of.update(
            (position, photo)
            for position, photo in session.execute(
                select(Location.id, Location.media_file_id).where(
                    Location.id.in_(positions[start : start + 500]), Location.media_file_id.is_not(None)
                )
            )
            if photo is not None
        )  # the query leaves them out already: this tells the type checker
    ids = [ref["id"] if ref["type"] == "media_file" else photo_of.get(ref["id"]) for ref in refs]
    return list(dict.fromkeys(i for i in ids if i is not None))


def _is_image() -> ColumnElement[bool]:
    # substr, not LIKE: LIKE ignores case in SQLite, str.startswith (the gallery's test) does not
    return func.substr(MediaFile.__table__.c.mime, 1, len(_IMAGE_MIMES[0])) == _IMAGE_MIMES[0]


def _image_count(session: Session) -> int:
    table = MediaFile.__table__
    return session.scalar(select(func.count()).select_from(table).where(_is_image())) or 0


def _chosen_images(session: Session, first: list[int]) -> list[MediaFile]:
    """Cited images first (in the order given), then the others by id, MAX_THUMBS in all."""
    cited = {m.id: m for m in session.scalars(select(MediaFile).where(MediaFile.id.in_(first), _is_image()))}
    chosen = [cited[i] for i in first if i in cited][:MAX_THUMBS]
    rest = MAX_THUMBS - len(chosen)
    if rest > 0:
        others = (
            select(MediaFile).where(_is_image(), MediaFile.id.not_in(list(cited))).order_by(MediaFile.id).limit(rest)
        )
        chosen += list(session.scalars(others))
    return chosen


def _sources(session: Session, media: list[MediaFile]) -> dict[int, SourceFile]:
    ids = sorted({m.source_file_id for m in media if m.source_file_id is not None})
    found: dict[int, SourceFile] = {}
    for start in range(0, len(ids), 500):
        batch = select(SourceFile).where(SourceFile.id.in_(ids[start : start + 500]))
        found.update({s.id: s for s in session.scalars(batch)})
    return found


def _read_and_shrink(
    wanted: list[MediaFile],
    sources: dict[int, SourceFile],
    evidence_path: Path,
    options: OpenOptions | None,
    out: Path,
    result: Thumbnails,
) -> None:
    from triage.evidence import open_evidence

    by_place: dict[tuple[str, str], list[tuple[MediaFile, str | None]]] = {}
    for m in wanted:
        source = sources.get(m.source_file_id) if m.source_file_id is not None else None
        if source is None:
            result.missing[m.id] = "no thumbnail: the file's source record is missing"
            continue
        by_place.setdefault((source.volume, source.path), []).append((m, source.inode))
    found: set[int] = set()
    matched: set[int] = set()  # read again and equal to their recorded SHA-256: given to be drawn
    with open_evidence(evidence_path, options) as evidence, _Shrinking(out, result) as shrinking:
        for entry in evidence.walk():
            group = by_place.get((entry.volume, entry.path))
            if not group or entry.type != "file":
                continue
            for m, inode in group:
                if m.id in matched or (inode is not None and entry.inode != inode):
                    continue  # a deleted namesake or another file at the same path
                found.add(m.id)
                if _read_one(evidence, entry, m, result, shrinking):
                    matched.add(m.id)
    for group in by_place.values():
        for m, _ in group:
            if m.id not in found:
                result.missing.setdefault(m.id, "no thumbnail: the file was not found again in the evidence")


def _read_one(evidence, entry, media: MediaFile, result: Thumbnails, shrinking: _Shrinking) -> bool:  # noqa: ANN001
    """The file read again and, when its bytes are those recorded, given to be drawn (True); else why not, in
    `result.missing` (another entry at the same path may still be the file)."""
    if entry.size and entry.size > MAX_SOURCE_BYTES:
        result.missing[media.id] = f"no thumbnail: file larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB"
        return False
    try:
        data = evidence.read_bytes(entry)
    except Exception as e:  # noqa: BLE001 - any reader's failure costs this picture only; listed in `missing`
        result.missing[media.id] = f"no thumbnail: file not readable ({type(e).__name__}: {e})"
        return False
    digest = hashlib.sha256(data).hexdigest()
    if media.sha256 and digest != media.sha256:
        result.missing[media.id] = "no thumbnail: bytes read again do not match the recorded SHA-256"
        return False
    shrinking.add(media.id, f"{THUMB_DIR}/{digest}.jpg", data)
    return True


# pictures sent to the decoding worker in one task, at most (a camera's photo is a few MB)
BATCH_PICTURES = 16
BATCH_BYTES = 16 << 20


class _Shrinking:
    """Pictures decoded and shrunk in a worker process, a batch at a time, and written here as they come back.

    The decoders (Pillow, libheif) are C code reading the evidence's bytes: a file made to crash one would end the
    run if it were decoded in the run's process. In a worker, its death costs that picture only: the batch is given
    again a picture at a time (triage/parsing/worker_deaths.py) and the one that kills its worker is listed without
    a picture, saying so. Where no worker process can be started at all, the pictures are decoded here, as before."""

    def __init__(self, out: Path, result: Thumbnails) -> None:
        from triage.parsing.parallel import start_pool  # the photo workers' pool: loads the parsers

        self.out, self.result = out, result
        self.worker = Alone(lambda: start_pool(1), Deaths())
        self.batch: dict[str, tuple[bytes, list[int]]] = {}  # name -> (bytes, media ids shown by that picture)
        self.size = 0
        self.written: set[str] = set()

    def __enter__(self) -> _Shrinking:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            if kind is None:
                self.flush()
        finally:
            self.worker.close()

    def add(self, media_id: int, name: str, data: bytes) -> None:
        if name in self.batch:  # the same picture at two paths is drawn once
            self.batch[name][1].append(media_id)
            return
        if name in self.written:
            self.result.made[media_id] = name
            self.result.missing.pop(media_id, None)
            return
        self.batch[name] = (data, [media_id])
        self.size += len(data)
        if len(self.batch) >= BATCH_PICTURES or self.size >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        names = list(self.batch)
        outcomes = self._shrunk([self.batch[name][0] for name in names])
        for name, outcome in zip(names, outcomes, strict=True):
            self._keep(name, outcome, self.batch[name][1])
        self.batch.clear()
        self.size = 0

    def _shrunk(self, pictures: list[bytes]) -> list[Any]:
        done = [] if self.worker.unavailable else self.worker.call_each(shrink_each, pictures)
        if self.worker.unavailable:
            return shrink_each(pictures)  # no process to be had on this machine: decoded here, as before
        # None: the worker lived through the picture but its answer could not come back (it is safe to decode here)
        return [shrink_each([p])[0] if d is None else d for p, d in zip(pictures, done, strict=True)]

    def _keep(self, name: str, outcome: Any, media_ids: list[int]) -> None:
        if isinstance(outcome, bytes):
            try:
                (self.out / THUMB_DIR).mkdir(exist_ok=True)
                write_bytes_exclusive(self.out / name, outcome)  # a file already there is never replaced: run stops
            except (OSError, ExistingFileError) as e:
                raise OutputFailed(e) from e
            self.written.add(name)
            for media_id in media_ids:
                self.result.made[media_id] = name
                self.result.missing.pop(media_id, None)
            return
        if isinstance(outcome, Died) and outcome.tried:
            why = f"no thumbnail: the process decoding this picture died ({outcome.why}); not decoded again"
        elif isinstance(outcome, Died):
            why = f"no thumbnail: {outcome.why}"
        else:
            why = outcome  # the reason shrink_each gave
        for media_id in media_ids:
            self.result.missing[media_id] = why


def shrink_each(pictures: list[bytes]) -> list[bytes | str]:
    """Worker side: each picture's thumbnail, or why it has none ("no thumbnail: …")."""
    done: list[bytes | str] = []
    for data in pictures:
        try:
            done.append(shrink(data))
        except TooLargeToDecode as e:  # listed without a picture, saying why
            done.append(f"no thumbnail: {e}")
        except Exception as e:  # noqa: BLE001 - corrupt or unsupported image: listed without a picture
            done.append(f"no thumbnail: image not decodable ({type(e).__name__}: {e})")
    return done


def shrink(data: bytes) -> bytes:
    """A small RGB JPEG without metadata, upright as the camera's orientation tag says."""
    from PIL import Image, ImageOps

    register_heif()
    with warnings.catch_warnings():
        # Pillow's warning past 89 million pixels: the budget below is smaller, and says why in the report
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
    with image:
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale (fast for camera photos)
        refuse_to_decode_if_too_large(image)
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((MAX_SIDE, MAX_SIDE))
        buf = io.BytesIO()
        upright.convert("RGB").save(buf, "JPEG", quality=80, optimize=False, progressive=False)
    return buf.getvalue()

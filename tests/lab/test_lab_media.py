"""A device's per-file media work in chunks (triage/lab/media.py): staged, claimed, done once, taken over from a
dead worker, and giving exactly what this machine's own prepare_batch gives.

Starts a throwaway PostgreSQL (triage/lab/services.py; skipped, saying why, when it is not installed). The
whole path through two real workers is tests/lab/test_lab_cluster.py.
"""

from __future__ import annotations

import pickle
import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from fixtures.build_large_phone import photo
from parsers import ALL_PARSERS
from triage.evidence.model import FileEntry
from triage.lab.examine import lab_engine
from triage.lab.jobs import CHUNK_DONE, CHUNK_TAKEN, MEDIA_CHUNKS, MEDIA_RESULTS, add_job, now, set_job
from triage.lab.media import ChunkJob, SpreadMedia, claim_chunk, do_chunk, safe_loads
from triage.lab.migrate import upgrade_lab
from triage.lab.services import lab_services, missing_services
from triage.parsing.parallel import PreparedFile, prepare_batch

pytestmark = pytest.mark.skipif(missing_services() is not None, reason=f"lab servers: {missing_services()}")

PHOTO_PARSERS = tuple(p.name for p in ALL_PARSERS if p.bytes_only)


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="triage-lab-media-"))
    try:
        with lab_services(folder) as (postgres, _redis):
            upgrade_lab(postgres.url)
            yield postgres.url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _items(count: int) -> list[tuple]:
    """prepare_file arguments for `count` camera photos with GPS (the benchmark phone's), as parallel.py sends them."""
    rng = random.Random(7)
    items = []
    for n in range(count):
        data = photo(n, rng)
        entry = FileEntry(
            path=f"/media/0/DCIM/Camera/IMG_{n:04d}.jpg", layers=("dir",), type="file", size=len(data), inode=None
        )
        items.append((replace(entry, handle=None), data[:64], data, PHOTO_PARSERS))
    return items


def _job(pg: str, name: str, staging: Path) -> ChunkJob:
    with lab_engine(pg).begin() as c:
        add_job(c, job_id=name, case_ref="MEDIA", exhibit=name, examiner="t", evidence="/e", case_schema=f"case_{name}")
        set_job(c, name, state="running", attempts=1)
    return ChunkJob(name, 1, pg, staging)


def _values(prepared: list[PreparedFile]) -> list[Any]:
    """What the run stores from each file: its hash, and every parser's records (column values), warnings, error."""
    return [
        (
            p.sha256,
            {
                name: (
                    [{k: v for k, v in vars(r).items() if not k.startswith("_")} for r in out.records],
                    out.warnings,
                    repr(out.error),
                )
                for name, out in p.outputs.items()
            },
        )
        for p in prepared
    ]


def _batches(spread: SpreadMedia, items: list[tuple], size: int) -> list:
    return [spread.submit(prepare_batch, items[i : i + size]) for i in range(0, len(items), size)]


def test_chunks_done_here_and_elsewhere_give_what_this_machine_gives(pg: str, tmp_path: Path) -> None:
    items = _items(13)
    expected = _values(prepare_batch(items))
    job = _job(pg, "spread", tmp_path / "staging")
    sent: list[int] = []
    spread = SpreadMedia(job, lambda _job, n: sent.append(n), chunk_files=4, local_workers=0)
    futures = _batches(spread, items, 3)  # chunks of 4, 4, 4 and 1: a batch may span two chunks
    assert sent == [1, 2, 3] and len(list(job.staging.iterdir())) == 3  # the fourth is still open
    assert do_chunk(job, 2, "other-host:1") == "done"  # another worker takes the second chunk from the queue
    got = [p for f in futures for p in f.result()]  # the others: done here, in line
    assert _values(got) == expected and sent == [1, 2, 3, 4]
    assert (spread.counts.chunks, spread.counts.here, spread.counts.elsewhere) == (4, 3, 1)
    spread.shutdown()
    with lab_engine(pg).connect() as c:  # working state only: gone with the device's parsing
        for table in (MEDIA_CHUNKS, MEDIA_RESULTS):
            assert c.execute(select(func.count()).select_from(table).where(table.c.job_id == "spread")).scalar() == 0
    assert not job.staging.exists()


def test_a_chunk_done_twice_stores_each_file_once(pg: str, tmp_path: Path) -> None:
    job = _job(pg, "twice", tmp_path / "staging")
    spread = SpreadMedia(job, lambda _job, _n: None, chunk_files=5, local_workers=0)
    _batches(spread, _items(5), 5)
    lab = lab_engine(pg)
    assert do_chunk(job, 1, "w1:1") == "done"
    assert do_chunk(job, 1, "w2:2") == "not needed"  # a redelivered message: the chunk is done
    with lab.begin() as c:  # a worker that finished but whose "done" looked lost: the chunk is done again
        c.execute(update(MEDIA_CHUNKS).where(MEDIA_CHUNKS.c.job_id == "twice").values(state="queued"))
    assert do_chunk(job, 1, "w3:3") == "done"
    with lab.connect() as c:
        positions = c.execute(
            select(MEDIA_RESULTS.c.position).where(MEDIA_RESULTS.c.job_id == "twice").order_by(MEDIA_RESULTS.c.position)
        ).scalars()
        assert list(positions) == [0, 1, 2, 3, 4]
    spread.shutdown()
    lab.dispose()


def test_a_dead_workers_chunk_is_taken_over_and_a_live_ones_is_not(pg: str, tmp_path: Path) -> None:
    items = _items(4)
    job = _job(pg, "dead", tmp_path / "staging")
    spread = SpreadMedia(job, lambda _job, _n: None, chunk_files=2, local_workers=0)
    futures = _batches(spread, items, 2)
    lab = lab_engine(pg)
    assert claim_chunk(lab, job, 1, "dead-host:1") and claim_chunk(lab, job, 2, "live-host:2")
    assert not claim_chunk(lab, job, 2, "third-host:3")  # held by a worker whose claim is fresh
    assert do_chunk(job, 2, "third-host:3") == "not needed"
    with lab.begin() as c:  # the first worker died mid-chunk: its claim is no longer refreshed
        c.execute(
            update(MEDIA_CHUNKS)
            .where(MEDIA_CHUNKS.c.job_id == "dead", MEDIA_CHUNKS.c.chunk_no == 1)
            .values(taken_utc=now() - timedelta(hours=1))
        )
    assert _values(futures[0].result()) == _values(prepare_batch(items[:2]))  # taken over by the device's worker
    with lab.connect() as c:
        row = c.execute(
            select(MEDIA_CHUNKS).where(MEDIA_CHUNKS.c.job_id == "dead", MEDIA_CHUNKS.c.chunk_no == 1)
        ).first()
        assert row is not None and row.state == CHUNK_DONE and row.worker != "dead-host:1"
        live = c.execute(
            select(MEDIA_CHUNKS.c.state).where(MEDIA_CHUNKS.c.job_id == "dead", MEDIA_CHUNKS.c.chunk_no == 2)
        )
        assert live.scalar() == CHUNK_TAKEN
    spread.shutdown()
    lab.dispose()


def test_chunks_of_an_ended_attempt_are_nobodys_work(pg: str, tmp_path: Path) -> None:
    job = _job(pg, "ended", tmp_path / "staging")
    spread = SpreadMedia(job, lambda _job, _n: None, chunk_files=2, local_workers=0)
    _batches(spread, _items(2), 2)
    with lab_engine(pg).begin() as c:  # the device was retried: attempt 2 owns it now
        set_job(c, "ended", attempts=2)
    assert do_chunk(job, 1, "w:1") == "stale"
    spread.shutdown()


def test_staged_chunks_name_only_the_runs_own_types() -> None:
    assert isinstance(safe_loads(pickle.dumps(_items(1))), list)
    with pytest.raises(pickle.UnpicklingError, match="not a type a media chunk holds"):
        safe_loads(pickle.dumps(print))  # a planted file naming a function is refused before anything runs
    with pytest.raises(pickle.UnpicklingError):
        safe_loads(pickle.dumps(shutil.rmtree))
    with pytest.raises(pickle.UnpicklingError):  # a class with side effects outside the chunk's types
        safe_loads(pickle.dumps(tempfile.TemporaryDirectory))
    error = safe_loads(pickle.dumps(ValueError("bad EXIF")))  # what a parser raised travels back
    assert isinstance(error, ValueError) and str(error) == "bad EXIF"

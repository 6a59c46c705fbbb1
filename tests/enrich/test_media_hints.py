"""Media hints, duplicate grouping, the media watch-list, parallel parsing and `triage parse PHOTO --json`."""

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

from parsers.media.hints import path_hints, screenshot_hint
from tests.bundle_layout import payload
from triage.cli import main
from triage.enrich.media_grouping import group_media
from triage.enrich.watchlist_media import load_watchlist, mark_watchlisted
from triage.errors import TriageError
from triage.evidence.directory import DirectoryEvidence
from triage.model.records import Location, MediaFile
from triage.parsing import ParseRunner
from triage.parsing.parallel import parse_in_order
from triage.report.export import dumps, record_json
from triage.store import CaseStore

ROOT = Path(__file__).parents[2]
MEDIA = ROOT / "fixtures" / "media"
THIRD = ROOT / "fixtures" / "third_party"

# where each file sits on the built "phone"
LAYOUT = {
    "media/0/DCIM/Camera/ne_dover.jpg": MEDIA / "ne_dover.jpg",
    "media/0/WhatsApp/Media/WhatsApp Images/IMG-20240801-WA0001.jpg": MEDIA / "ne_dover_resent.jpg",
    "media/0/WhatsApp/Media/WhatsApp Images/Sent/IMG-20240801-WA0002.jpg": MEDIA / "ne_dover.jpg",
    "media/0/Telegram/Telegram Images/sw.jpg": MEDIA / "sw_rio.jpg",
    "media/0/Pictures/IMG-20240801-WA0003.png": MEDIA / "IMG-20240801-WA0003.png",
    "media/0/DCIM/Camera/IMG_heic.heic": MEDIA / "sw_heic.heic",
    "media/0/DCIM/Camera/VID_android_xyz.mp4": MEDIA / "VID_android_xyz.mp4",
    "media/0/DCIM/Camera/corrupted.jpg": THIRD / "exif-samples/jpg/corrupted.jpg",
    "data/com.android.providers.media/databases/external.db": MEDIA / "external.db",
    "media/0/DCIM/Camera/nw_newyork.jpg": MEDIA / "nw_newyork.jpg",
    "media/0/DCIM/Camera/zero_zero.jpg": MEDIA / "zero_zero.jpg",
}


@pytest.fixture(scope="module")
def phone(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("phone")
    for rel, src in LAYOUT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, root / rel)
    return root


def run_parsers(root: Path, workdir: Path, workers: int | None, pool_factory=None, stats_seen: list | None = None):
    """Parse the folder; records in store order as JSON lines (what the report would export). `pool_factory`:
    the photos' pool (parse_in_order); its stats then go into `stats_seen`, unchecked."""
    store = CaseStore("sqlite://")
    warnings: list[str] = []

    def on_source(source):
        store.add(source)
        store.flush()

    def on_record(record, source):
        record.source_file_id = source.id
        store.add(record)

    def on_warning(stage, component, level, message, provenance, source):
        warnings.append(f"{component}: {message} [{provenance}]")

    evidence = DirectoryEvidence(root)
    runner = ParseRunner(evidence, workdir, on_source, on_record, on_warning)
    candidates = runner.select()
    if pool_factory is not None:
        stats_seen.append(parse_in_order(runner, candidates, pool_factory=pool_factory))  # type: ignore[union-attr]
    elif workers is None:
        for cand in candidates:
            runner.parse(cand)
    else:
        stats = parse_in_order(runner, candidates, workers=workers)
        assert stats.parallel_files == 9 and stats.fallbacks == []
    store.flush()
    return store, warnings


def test_parallel_output_equals_sequential(phone, tmp_path):
    seq_store, seq_warn = run_parsers(phone, tmp_path, None)
    par_store, par_warn = run_parsers(phone, tmp_path, 2)
    dump = lambda s: [dumps(record_json(r, {})) for cls in (MediaFile, Location) for r in s.all(cls)]  # noqa: E731
    assert dump(seq_store) == dump(par_store) and len(dump(seq_store)) == 19
    assert seq_warn == par_warn
    assert any("invalid marker 0xFF9F" in w for w in par_warn)  # one bad file is one warning


@pytest.mark.parametrize("seen_before_the_first_batch", [True, False])
def test_a_worker_that_died_costs_time_not_records(phone, tmp_path, seen_before_the_first_batch):
    """The photos' pool breaks (its one worker killed): every photo it had is given to a worker again, alone (none
    kills it), the records and their warnings those of a sequential run, and the warnings say so once, not once a
    photo. Before, a batch given to a pool already known to be broken stopped the run (BrokenProcessPool out of
    submit), then the photos were parsed in the run's own process (where a decoder that crashes would end the run)."""
    import multiprocessing
    import os
    import signal
    import time

    from triage.process_pool import process_pool

    def dead_pool():
        pool = process_pool(1, multiprocessing.get_context("forkserver"))
        os.kill(pool.submit(os.getpid).result(), signal.SIGKILL)
        waited = time.monotonic() + 30
        while seen_before_the_first_batch and not pool._broken and time.monotonic() < waited:
            time.sleep(0.01)  # the pool's own thread marks it broken: submit then raises
        return pool

    seq_store, seq_warn = run_parsers(phone, tmp_path, None)
    stats: list = []
    par_store, par_warn = run_parsers(phone, tmp_path, None, pool_factory=dead_pool, stats_seen=stats)
    dump = lambda s: [dumps(record_json(r, {})) for cls in (MediaFile, Location) for r in s.all(cls)]  # noqa: E731
    assert dump(seq_store) == dump(par_store) and len(dump(seq_store)) == 19
    assert seq_warn == par_warn
    (stats,) = stats
    assert stats.parallel_files == 9 and stats.sequential_files == 2 and stats.broken_pool_files == 9
    assert stats.worker_deaths == [] and stats.decoders_given_up == 0
    (fallback,) = stats.fallbacks
    assert "BrokenProcessPool" in fallback
    assert fallback.endswith("and the 8 given to the workers after it were given to a worker again one at a time")


@pytest.mark.parametrize(("lookahead", "inflight"), [(1, 1), (2, 1 << 30), (1 << 20, 1)])
def test_parallel_output_under_tight_bounds(phone, tmp_path, monkeypatch, lookahead, inflight):
    """The look-ahead (results held) and the bytes bound (bytes sent, not yet finished) only pace the reading:
    at their smallest the records and warnings are those of a sequential run, every photo still in a worker."""
    import triage.parsing.parallel as parallel

    seq_store, seq_warn = run_parsers(phone, tmp_path, None)
    monkeypatch.setattr(parallel, "LOOKAHEAD_FILES", lookahead)
    monkeypatch.setattr(parallel, "MAX_INFLIGHT_BYTES", inflight)
    par_store, par_warn = run_parsers(phone, tmp_path, 2)
    dump = lambda s: [dumps(record_json(r, {})) for cls in (MediaFile, Location) for r in s.all(cls)]  # noqa: E731
    assert dump(seq_store) == dump(par_store) and len(dump(seq_store)) == 19
    assert seq_warn == par_warn


def test_origin_screenshot_and_groups(phone, tmp_path):
    store, _ = run_parsers(phone, tmp_path, 2)
    summary = group_media(store)
    media = {m.path.split("/media/0/")[-1]: m for m in store.all(MediaFile)}
    assert media["DCIM/Camera/ne_dover.jpg"].extra["origin_hint"] == "camera"
    received = media["WhatsApp/Media/WhatsApp Images/IMG-20240801-WA0001.jpg"].extra
    assert (received["origin_hint"], received["origin_app"]) == ("received", "whatsapp")
    assert media["WhatsApp/Media/WhatsApp Images/Sent/IMG-20240801-WA0002.jpg"].extra["origin_hint"] == "sent"
    assert media["Telegram/Telegram Images/sw.jpg"].extra["origin_app"] == "telegram"
    assert media["Pictures/IMG-20240801-WA0003.png"].extra["screenshot_hint"] == (
        "screen-sized image 1080x2340 without camera EXIF"
    )
    # the camera original and its WhatsApp "sent" copy are byte-identical; the re-sent copy is a near-duplicate
    original = media["DCIM/Camera/ne_dover.jpg"].extra
    assert (
        original["duplicate_count"] == 2
        and original["duplicate_group"]
        == (media["WhatsApp/Media/WhatsApp Images/Sent/IMG-20240801-WA0002.jpg"].extra["duplicate_group"])
    )
    assert original["near_duplicate_group"] == received["near_duplicate_group"]
    assert original["near_duplicate_count"] == 3
    assert (summary.duplicate_groups, summary.duplicate_files, summary.near_groups, summary.near_files) == (1, 2, 1, 3)
    assert "near_duplicate_group" not in media["Telegram/Telegram Images/sw.jpg"].extra


def test_media_watchlist_marks_by_sha256_and_phash(phone, tmp_path):
    store, _ = run_parsers(phone, tmp_path, None)
    dover = next(m for m in store.all(MediaFile) if m.path.endswith("DCIM/Camera/ne_dover.jpg"))
    rio = next(m for m in store.all(MediaFile) if m.path.endswith("sw.jpg"))
    lst = tmp_path / "adverts.csv"
    lst.write_text(
        f"# known adverts\nsha256,phash,label\n{rio.sha256},,boat advert A\n,{dover.extra['phash']},boat advert B\n"
    )
    watchlist = load_watchlist(lst)
    assert mark_watchlisted(store, watchlist) == 4  # rio; dover, its sent copy and the re-sent copy
    assert rio.extra["watchlist"] == [
        {
            "list": "adverts.csv",
            "list_sha256": watchlist.files["adverts.csv"],
            "row": 3,
            "label": "boat advert A",
            "match": "sha256",
            "distance": 0,
        }
    ]
    assert dover.extra["watchlist"][0]["match"] == "phash" and dover.extra["watchlist"][0]["row"] == 4


@pytest.mark.parametrize(
    "content,message",
    [
        ("label\nx\n", "needs a 'sha256' or 'phash' column"),
        ("sha256\nabc\n", "line 2: sha256 'abc' is not 64 hex digits"),
        ("phash,max_distance\n0123456789abcdef,40\n", "max_distance '40' must be 0-16"),
    ],
)
def test_bad_watchlist_is_a_clear_error(tmp_path, content, message):
    lst = tmp_path / "bad.csv"
    lst.write_text(content)
    with pytest.raises(TriageError, match=message):
        load_watchlist(lst)


def test_path_hints():
    assert path_hints("/data/media/0/DCIM/100APPLE/IMG_0001.HEIC")["origin_hint"] == "camera"
    assert path_hints("/private/var/mobile/Containers/Shared/AppGroup/ABC/Message/Media/x.jpg")["origin_app"] == (
        "whatsapp"
    )
    assert (
        path_hints("/data/media/0/Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/a.jpg")["origin_hint"]
        == "received"
    )
    assert path_hints("/data/media/0/Documents/a.jpg") == {}
    assert (
        screenshot_hint("/x/Screenshot_20240101-101010.png", None, None, None)
        == "file name Screenshot_20240101-101010.png"
    )
    assert screenshot_hint("/x/a.jpg", 2340, 1080, None) is not None
    assert screenshot_hint("/x/a.jpg", 1080, 2340, "samsung") is None  # a camera made it


def test_parse_photo_json_prints_media_file_and_location(capsys):
    assert main(["parse", "--json", str(MEDIA / "below_sea_deadsea.jpg")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["type"] for r in lines] == ["media_file", "location"]
    media, loc = lines
    assert media["sha256"] and media["path"] == "/below_sea_deadsea.jpg" and media["extra"]["phash"]
    assert (loc["latitude"], loc["longitude"], loc["altitude_m"]) == (
        pytest.approx(31.559),
        pytest.approx(35.4732),
        -430.5,
    )
    assert loc["media_file_id"] == media["id"] and loc["origin"] == "photo EXIF GPS"


def test_run_groups_media_and_applies_the_watchlist(phone, tmp_path):
    lst = tmp_path / "adverts.csv"
    lst.write_text(f"sha256,label\n{hashlib.sha256((MEDIA / 'sw_rio.jpg').read_bytes()).hexdigest()},advert\n")
    out = tmp_path / "out"
    assert main(["run", str(phone), "--out", str(out), "--quiet", "--media-watchlist", str(lst)]) == 0
    media = [json.loads(line) for line in (payload(out) / "records" / "media_file.jsonl").read_text().splitlines()]
    marked = [m for m in media if m["extra"].get("watchlist")]
    assert [m["path"].rsplit("/", 1)[-1] for m in marked] == ["sw.jpg"]
    assert sum("near_duplicate_group" in m["extra"] for m in media) == 3
    actions = [json.loads(line)["action"] for line in (payload(out) / "custody.jsonl").read_text().splitlines()]
    assert "media grouped" in actions and "media watch-list applied" in actions


def test_a_picture_seen_again_is_not_decoded_again() -> None:
    """Issue 14: perceptual hashes cached by SHA-256 (a forwarded or re-saved picture decodes once), in a
    bounded cache (oldest out first)."""
    from parsers.media.hints import DecodedImages

    cache = DecodedImages(entries=2)
    files = {name: (MEDIA / name).read_bytes() for name in ("ne_dover.jpg", "sw_rio.jpg", "nw_newyork.jpg")}
    digest = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    first = cache.hints_of(digest["ne_dover.jpg"], io.BytesIO(files["ne_dover.jpg"]))
    again = cache.hints_of(digest["ne_dover.jpg"], io.BytesIO(b"not read: the content is known"))
    assert again == first and len(first["phash"]) == 16 and (cache.decoded, cache.reused) == (1, 1)
    again["phash"] = "changed by a caller"
    assert cache.hints_of(digest["ne_dover.jpg"], io.BytesIO(b""))["phash"] == first["phash"]  # copies handed out
    for name in ("sw_rio.jpg", "nw_newyork.jpg"):
        cache.hints_of(digest[name], io.BytesIO(files[name]))
    assert list(cache.hints) == [digest["sw_rio.jpg"], digest["nw_newyork.jpg"]]  # ne_dover left: oldest use
    assert cache.hints_of(None, io.BytesIO(files["sw_rio.jpg"]))["phash"] and cache.decoded == 4  # no hash, no cache

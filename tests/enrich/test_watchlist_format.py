"""One watch-list format for every list (`kind,value[,label][,max_distance]`, kinds include sha256 and
phash); the old media-list layout and the deprecated `--media-watchlist` flag still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.enrich.watchlist_media import media_watchlist
from triage.enrich.watchlists import WatchlistError, Watchlists

SHA = "5f3c8a4c1c7f3f0e6c6f6ab0bb0b8e9d6e0d2b1f9a4e7c3d2a1b0c9d8e7f6a5b"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_one_file_holds_numbers_and_picture_hashes(tmp_path):
    path = write(
        tmp_path,
        "case.csv",
        "kind,value,label,max_distance\n"
        "phone,+44 7400 123456,advert number,\n"
        f"sha256,{SHA.upper()},advert image,\n"
        "# a re-compressed copy should still match\n"
        "phash,0123456789abcdef,advert image resized,6\n",
    )
    lists = Watchlists.load([path])
    assert lists.lookup("+447400123456", ["phone"]) == "case.csv row 2 (advert number)"
    assert lists.lookup(SHA, ["sha256"]) == "case.csv row 3 (advert image)"  # hex compared case-insensitively
    assert [(e.kind, e.value, e.row, e.max_distance) for e in lists.media] == [
        ("sha256", SHA, 3, 4),
        ("phash", "0123456789abcdef", 5, 6),
    ]
    media = media_watchlist(lists)
    assert media is not None and media.identity() == {"lists": {"case.csv": lists.files["case.csv"]}, "entries": 2}
    assert lists.notes == []


def test_no_hash_rows_means_no_media_pass(tmp_path):
    lists = Watchlists.load([write(tmp_path, "numbers.csv", "kind,value\nphone,+447400123456\n")])
    assert lists.media == [] and media_watchlist(lists) is None


def test_old_media_layout_reads_as_the_same_rows_with_a_note(tmp_path):
    old = write(tmp_path, "adverts.csv", f"sha256,phash,label\n{SHA},0123456789abcdef,boat advert\n")
    new = write(
        tmp_path, "adverts_new.csv", f"kind,value,label\nsha256,{SHA},boat advert\nphash,0123456789abcdef,boat advert\n"
    )
    read_old, read_new = Watchlists.load([old]), Watchlists.load([new])
    assert [(e.kind, e.value, e.label, e.row) for e in read_old.media] == [
        ("sha256", SHA, "boat advert", 2),
        ("phash", "0123456789abcdef", "boat advert", 2),
    ]
    assert [(e.kind, e.value, e.label) for e in read_old.media] == [(e.kind, e.value, e.label) for e in read_new.media]
    assert read_old.notes == [
        "adverts.csv: read in the old media-list layout (sha256/phash columns); convert it "
        "to 'kind,value,label[,max_distance]' rows"
    ]


@pytest.mark.parametrize(
    "content, message",
    [
        ("kind,value\nsha256,abc\n", "line 2: sha256 'abc' is not 64 hex digits"),
        ("kind,value\n\nphash,xyz\n", "line 3: phash 'xyz' is not 16 hex digits"),
        ("kind,value,max_distance\nphash,0123456789abcdef,17\n", "line 2: max_distance '17' must be 0-16"),
        ("number\n+447400123456\n", "'kind,value\\[,label\\]'"),
        ("", "is empty"),
    ],
)
def test_a_bad_list_names_the_line_and_the_fix(tmp_path, content, message):
    with pytest.raises(WatchlistError, match=message):
        Watchlists.load([write(tmp_path, "bad.csv", content)])


def test_run_with_deprecated_flag_warns_and_marks_like_watchlist(tmp_path, capsys):
    import hashlib
    import json
    import shutil

    from tests.bundle_layout import payload
    from tests.enrich.test_media_hints import LAYOUT, MEDIA
    from triage.cli import main

    phone = tmp_path / "phone"
    for rel, src in LAYOUT.items():
        (phone / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, phone / rel)
    sha = hashlib.sha256((MEDIA / "sw_rio.jpg").read_bytes()).hexdigest()
    old = write(tmp_path, "adverts.csv", f"sha256,label\n{sha},advert\n")
    new = write(tmp_path, "adverts2.csv", f"kind,value,label\nsha256,{sha},advert\n")
    marked = {}
    for flag, path in (("--media-watchlist", old), ("--watchlist", new)):
        out = tmp_path / flag.strip("-")
        assert main(["run", str(phone), "--out", str(out), "--quiet", flag, str(path)]) == 0
        err = capsys.readouterr().err
        assert ("--media-watchlist is deprecated" in err) == (flag == "--media-watchlist")
        media = [json.loads(line) for line in (payload(out) / "records/media_file.jsonl").read_text().splitlines()]
        marked[flag] = [
            (m["path"].rsplit("/", 1)[-1], [(h["list"], h["row"], h["match"]) for h in m["extra"]["watchlist"]])
            for m in media
            if m["extra"].get("watchlist")
        ]
        custody = [json.loads(line) for line in (payload(out) / "custody.jsonl").read_text().splitlines()]
        loaded = next(c["details"] for c in custody if c["action"] == "watch-lists loaded")
        assert loaded["media_entries"] == 1
        assert loaded["sha256"] == {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
        assert ("notes" in loaded) == (flag == "--media-watchlist")  # the old layout is named in the record
    assert marked["--media-watchlist"] == [("sw.jpg", [("adverts.csv", 2, "sha256")])]
    assert marked["--watchlist"] == [("sw.jpg", [("adverts2.csv", 2, "sha256")])]

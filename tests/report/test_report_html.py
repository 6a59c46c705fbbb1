"""index.html and its pages without a browser: every section checked against the demo manifest and the run's
records, each where it now lives (the front page, or the paged listings under pages/)."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from markupsafe import escape
from PIL import Image

from rules.engine import load_pack
from tests.bundle_layout import payload
from tests.report_demo import (
    CASE,
    DEMO_MANIFEST,
    EXAMINER,
    EXHIBIT,
    Elements,
    Text,
    conversations,
    demo_bundle,
    gps_photos,
    listing,
    positions_on_map,
    read_jsonl,
    run_demo,
    section,
    timeline,
)
from triage.enrich.thumbnails import MAX_SIDE, shrink
from triage.report.basemap import FRAME, MapPoint, Projection, land, render_map
from triage.report.html import local_times


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, evidence_guard) -> tuple[Path, Path, str]:
    return demo_bundle(tmp_path_factory, evidence_guard)


@pytest.fixture(scope="module")
def page(bundle) -> str:
    return (payload(bundle[0]) / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def findings(bundle) -> dict:
    return json.loads((payload(bundle[0]) / "findings.json").read_text(encoding="utf-8"))


def records(bundle, kind: str) -> list[dict]:
    return read_jsonl(payload(bundle[0]) / "records" / f"{kind}.jsonl")


def test_page_is_self_contained(bundle, page: str) -> None:
    out = payload(bundle[0])
    tags = Elements(page)
    assert all(img["src"].startswith(("thumbs/", "data:")) for img in tags.select("img"))
    assert "<script>" in page  # the small filter script, inline
    files = [out / "index.html", *sorted((out / "pages").iterdir())]
    assert len(files) > 30
    for path in files:
        html = path.read_text(encoding="utf-8")
        tags = Elements(html)
        # nothing external: no linked stylesheet or script file, no remote image or URL in CSS
        assert not tags.select("link") and all(not s.get("src") for s in tags.select("script")), path.name
        assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", html) and "url(http" not in html, path.name
        csp = tags.select("meta", http_equiv="Content-Security-Policy")
        assert csp and "default-src 'none'" in csp[0]["content"], path.name
        assert "<style>" in html, path.name  # inline CSS
        # every link is relative and leads to a file of the report's own folder, and to an anchor on it
        for ref in [a["href"] for a in tags.select("a")] + [i["src"] for i in tags.select("img")]:
            target, _, anchor = ref.partition("#")
            assert not target.startswith("/") and ":" not in target, (path.name, ref)
            linked = (path.parent / target).resolve() if target else path
            assert linked.is_file() and out.resolve() in linked.parents, (path.name, ref)
            if anchor:
                assert f'id="{anchor}"' in linked.read_text(encoding="utf-8"), (path.name, ref)


def test_header_case_tool_rule_pack_and_key(bundle, page: str, findings: dict) -> None:
    head = Text(section(page, "case")).text
    for value in (
        CASE,
        EXHIBIT,
        EXAMINER,
        f"mobile-triage {findings['tool']['version']}",
        findings["rule_pack"]["sha256"],
        findings["rule_pack"]["lexicon"]["sha256"],
        DEMO_MANIFEST["zones_file"]["sha256"],
        "EWF/E01",
    ):
        assert value in head, value
    assert bundle[2] in head  # the examiner's key fingerprint, as `triage keys init` gave it
    # run times in UTC and in local time
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (GMT|BST)", head)


def test_geographic_findings_export_where_each_position_was_placed(bundle, findings: dict) -> None:
    """Schema 1.4: a geofence rule's finding lists each cited position's placement in its zone (the coast rule,
    rules/zones.py); other findings an empty list. The card shows the zones with the position's accuracy."""
    locations = {r["id"]: r for r in records(bundle, "location")}
    geo = next(x for x in findings["findings"] if x["rule_id"] == "GEO-01")
    cited = [ref["id"] for ref in geo["evidence"] if ref["type"] == "location"]
    assert [p["record"] for p in geo["geofence"]] == [{"type": "location", "id": i} for i in cited]
    for placed in geo["geofence"]:
        assert placed["zone"] == "embarkation" and placed["zone_name"] in geo["explanation"]
        assert placed["distance_to_edge_m"] > 0 and placed["zone_source"] and placed["zone_precision_m"] > 0
        assert placed["uncertainty_m"] is None or placed["uncertainty_m"] >= 0
        assert f"{placed['distance_to_edge_m']:,.0f} m from its edge" in geo["explanation"]
        assert locations[placed["record"]["id"]]["latitude"]
    assert geo["geofence_not_detailed"] == 0
    assert all(x["geofence"] == [] for x in findings["findings"] if not x["rule_id"].startswith(("GEO", "MED")))


def test_a_cited_contact_is_shown_as_stored(page: str, findings: dict) -> None:
    """APP-01 cites the demo's Telegram channel (a contact record): its card names it, with its handles and
    the role the app stores, not only "contact #11"."""
    app = next(x for x in findings["findings"] if x["rule_id"] == "APP-01")
    card = page.split(f'id="finding-{app["id"]}"', 1)[1].split("</details>", 1)[0]
    text = Text(card).text
    assert "telegram contact UK Crossing" in text and "@uk_crossing_now" in text
    assert "kind as stored: channel · the user's role as stored: member" in text


def test_device_and_evidence_hashes_acquired_vs_verified(bundle, page: str) -> None:
    device = records(bundle, "device")[0]
    header = page.split("<h2>Device</h2>", 1)[1].split("<h2", 1)[0]
    assert device["model"] in header and device["serial"] in header and "build.prop" in header
    evidence = Text(section(page, "evidence")).text
    disk, e01 = DEMO_MANIFEST["disk"], DEMO_MANIFEST["e01"]
    for value in (disk["md5"], disk["sha1"], disk["sha256"], e01["stored_md5"], e01["stored_sha1"], e01["sha256"]):
        assert value in evidence, value
    assert "yes — matches" in evidence and "unchanged" in evidence


def test_assessment_reasons_and_flags_are_shown(page: str, findings: dict) -> None:
    part = section(page, "assessment")
    text = Text(part).text
    assert findings["assessment"]["level"].upper() in text
    for reason in findings["assessment"]["reasons"]:
        assert reason in text
    # the flags box is always there, even empty, and says so
    assert 'id="flags"' in part
    assert f"SAFEGUARDING and DISCLOSURE flags ({len(findings['assessment']['flags'])})" in text
    for flag in findings["assessment"]["flags"]:
        assert flag in text


def test_each_finding_has_its_evidence_cards(bundle, page: str, findings: dict) -> None:
    tags = Elements(page)
    details = tags.select("details", "finding")
    assert [d["id"] for d in details] == [f"finding-{x['id']}" for x in findings["findings"]]
    assert [d["data-severity"] for d in details] == [x["severity"] for x in findings["findings"]]
    messages = {m["id"]: m for m in records(bundle, "message")}
    locations = {loc["id"]: loc for loc in records(bundle, "location")}
    blocks = page.split('<details class="finding')[1:]
    for x, block in zip(findings["findings"], blocks, strict=True):
        block = block.split("</details>", 1)[0]
        assert block.count('<div class="card card-') == len(x["evidence"])
        for ref in x["evidence"]:
            assert ref["provenance"] in Text(block).text
            if ref["type"] == "message":
                assert str(escape(messages[ref["id"]]["body"])) in block
                assert "not translated" in block
            if ref["type"] == "location":
                loc = locations[ref["id"]]
                assert f"{loc['latitude']:.6f}, {loc['longitude']:.6f}" in block
                assert f'href="#map-L{loc["id"]}"' in block and '<img src="thumbs/' in block


def test_map_draws_land_zones_and_every_gps_photo(bundle, page: str) -> None:
    part = section(page, "map")
    tags = Elements(part)
    positions = listing(payload(bundle[0]), "locations")
    points = tags.select("circle", "pt")
    assert len(points) == len(positions_on_map(payload(bundle[0]))) == len(records(bundle, "location"))
    photos = gps_photos()
    photo_points = [p for p in points if p["data-origin"] == "photo EXIF GPS"]
    assert len(photo_points) == len(photos) == 6
    assert len(tags.select("path", "land")) == 1
    kinds = {z["data-kind"] for z in tags.select("path", "zone")}
    assert {"embarkation", "uk_landing", "channel_waters", "staging_camps"} <= kinds
    assert len(tags.select("polyline", "track")) == 1
    # each photo's point sits where the projection puts the photo's coordinates
    proj = Projection()
    drawn = sorted((float(p["cx"]), float(p["cy"])) for p in photo_points)
    assert drawn == sorted(proj.xy(p["lon"], p["lat"]) for p in photos)
    for photo in photos:  # listed on the positions pages, each linked to its point on the map
        assert f"{photo['lat']:.6f}" in positions and f"{photo['lon']:.6f}" in positions
    for point in points:
        assert f'<a href="../index.html#{point["id"]}">' in positions


def test_timeline_is_utc_ordered_with_london_and_paris_times(bundle, page: str) -> None:
    part = timeline(payload(bundle[0]))
    rows = re.findall(
        r'<tr><td class="mono">([^<]+)</td><td class="mono">([^<]+)</td>'
        r'<td class="mono">([^<]+)</td>',
        part,
    )
    timed = (
        sum(1 for m in records(bundle, "message") if m["time_utc"])
        + sum(1 for loc in records(bundle, "location") if loc["time_utc"])
        + sum(1 for m in records(bundle, "media_file") if m["taken_utc"])
        + sum(1 for p in records(bundle, "payment") if p["time_utc"])
        + sum(1 for c in records(bundle, "call") if c["time_utc"])
    )
    assert len(rows) == timed > 0
    days = Text(listing(payload(bundle[0]), "timeline")).text  # the index of days counts them all
    assert f"{timed} record(s) with a time placed in UTC" in days
    instants = [datetime.fromisoformat(utc.replace("Z", "+00:00")) for utc, _, _ in rows]
    assert instants == sorted(instants)
    sms3 = next(s for s in DEMO_MANIFEST["sms"] if s["rowid"] == 3)
    assert sms3["date"] == 1747242131530  # 2025-05-14T17:02:11.530Z
    assert ("2025-05-14T17:02:11.530Z", "2025-05-14 18:02:11 BST", "2025-05-14 19:02:11 CEST") in rows
    assert local_times("2025-01-10T12:00:00Z") == ["2025-01-10 12:00:00 GMT", "2025-01-10 13:00:00 CET"]


def test_people_are_the_linked_parties(bundle, page: str) -> None:
    text = Text(listing(payload(bundle[0]), "people")).text
    parties = records(bundle, "party")
    assert {t["address"] for t in DEMO_MANIFEST["sms_db"]["threads"]} <= {p["e164"] for p in parties}
    for p in parties:
        assert (p["e164"] or p["key"]) in text and (p["region"] or "unknown") in text
        for name in p["names"]:
            assert name in text
        for ref in p["refs"]:
            assert f"message #{ref['id']}" in text


def test_conversations_are_threads_in_time_order_with_sides(bundle, page: str) -> None:
    threads = [
        re.split(r'<div class="thread" id="thread-\d+">', c, maxsplit=1)[1] for c in conversations(payload(bundle[0]))
    ]
    messages = records(bundle, "message")
    assert len(threads) == len({(m["app"], m["thread"]) for m in messages})
    assert sum(t.count('<div class="bubble ') for t in threads) == len(messages)
    index = Text(listing(payload(bundle[0]), "conversations")).text
    assert f"{len(threads)} conversation(s), {len(messages)} message(s)" in index
    sms_threads = {}
    for block in threads:
        head = re.match(r'\s*<h3>(?:<span class="name"[^>]*>.*?</span> · )?sms · thread \d+ · (\+\d+) ·', block)
        if head:
            sms_threads[head.group(1)] = block
    expected = {t["address"]: t["messages"] for t in DEMO_MANIFEST["sms_db"]["threads"]}
    assert {a: b.count('<div class="bubble ') for a, b in sms_threads.items()} == expected
    for sms in DEMO_MANIFEST["sms"]:
        block = sms_threads[sms["address"]]
        side = {1: "in", 2: "out"}[sms["type"]]
        bubble = re.search(
            rf'<div class="bubble (in|out)" id="msg-\d+">'
            rf'((?:(?!<div class="bubble).)*?table sms row {sms["rowid"]}</span>)',
            block,
            re.S,
        )
        assert bubble and bubble.group(1) == side, sms["rowid"]
        if sms["body"]:
            assert str(escape(sms["body"])) in bubble.group(2)
    for block in threads:  # chronological inside each thread
        times = re.findall(r'class="mono">(\d{4}-\d\d-\d\dT[\d:.]+Z)</span>', block)
        assert times == sorted(times, key=lambda t: datetime.fromisoformat(t.replace("Z", "+00:00")))


def test_media_gallery_thumbnails_are_the_evidence_photos(bundle, page: str) -> None:
    out = payload(bundle[0])
    media = records(bundle, "media_file")
    part = listing(out, "media")
    tags = Elements(part)
    assert len(tags.select("figure")) == len(media) >= len(DEMO_MANIFEST["photos"])
    shas = {m["sha256"] for m in media}
    thumbs = [img["src"] for img in tags.select("img")]
    images = [m for m in media if (m["mime"] or "").startswith("image/")]
    assert len(thumbs) == len(images)
    for src in thumbs:
        assert src.startswith("../thumbs/")
        path = out / "pages" / src
        assert path.parent.name == "thumbs" and path.stem in shas  # named by the photo's SHA-256
        with Image.open(path) as im:
            assert im.format == "JPEG" and max(im.size) <= MAX_SIDE and not im.info.get("exif")
    assert f"{len(images)} of {len(images)} image file(s) shown as thumbnails" in Text(part).text


def test_payments_warnings_not_parsed_and_examination_record(bundle, page: str) -> None:
    payments = listing(payload(bundle[0]), "payments")
    assert payments.count('<tr id="pay-') == len(records(bundle, "payment"))
    for p in records(bundle, "payment"):
        if p["amount"] is not None:
            assert f"{p['amount']:,.2f}" in payments
    warnings = Text(listing(payload(bundle[0]), "warnings", "not-parsed")).text
    front = Text(section(page, "warnings")).text  # the front page shows the first ones (the demo has few)
    for w in records(bundle, "parse_warning"):
        assert w["message"] in front
        assert w["message"] in warnings
    for s in records(bundle, "source_file"):
        if s["status"] != "parsed":
            assert s["provenance"] in warnings
    assert "intact" in Text(section(page, "record")).text
    record = Text(listing(payload(bundle[0]), "record")).text
    assert "intact" in record
    custody = [e for e in read_jsonl(payload(bundle[0]) / "custody.jsonl")]
    written = next(i for i, e in enumerate(custody) if e["action"] == "report written")
    for entry in custody[:written]:  # every entry made before the page was written is on it
        assert entry["action"] in record and entry["time_utc"] in record


def test_same_evidence_same_page_but_for_run_times(bundle, tmp_path: Path) -> None:
    first, key, _ = bundle
    again = run_demo(tmp_path, key)

    def masked(folder: Path, name: str) -> str:
        # the custody log names the output root and the zip beside it: mask the folder that holds both
        text = (payload(folder) / name).read_text(encoding="utf-8").replace(str(folder.parent), "OUT")
        return re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?( UTC| GMT| BST| CET| CEST)?", "TIME", text)

    # the run's own times (started, written, custody entries) are the only differences, on every page
    pages = sorted(f"pages/{p.name}" for p in (payload(first) / "pages").iterdir())
    assert pages == sorted(f"pages/{p.name}" for p in (payload(again) / "pages").iterdir())
    for name in ["index.html", *pages]:
        assert masked(first, name) == masked(again, name), name
    assert sorted(p.name for p in (payload(first) / "thumbs").iterdir()) == sorted(
        p.name for p in (payload(again) / "thumbs").iterdir()
    )
    for p in (payload(first) / "thumbs").iterdir():
        assert p.read_bytes() == (payload(again) / "thumbs" / p.name).read_bytes()


def test_map_frame_land_and_points_outside() -> None:
    proj = Projection()
    assert proj.xy(FRAME[0], FRAME[3]) == (0.0, 0.0)
    assert proj.xy(FRAME[2], FRAME[1]) == (proj.width, proj.height)
    # Dover is on land, mid-Strait is not (land data: Natural Earth 1:10m)
    from shapely.geometry import Point

    assert land().contains(Point(1.2, 51.15)) and not land().contains(Point(1.5, 51.0))
    view = render_map(
        [MapPoint("L1", 1, 51.0, 1.5, "at sea", 1.0), MapPoint("L2", 2, 33.3, 44.4, "Baghdad", 2.0)], load_pack().zones
    )
    assert [p.key for p in view.drawn] == ["L1"] and [p.key for p in view.outside] == ["L2"]
    assert view.svg.count('class="pt"') == 1 and "<polyline" not in view.svg  # one drawn point: no track


def test_thumbnail_is_small_upright_and_deterministic() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (800, 400), (10, 120, 200)).save(buf, "JPEG", exif=_exif_rotated())
    small = shrink(buf.getvalue())
    assert small == shrink(buf.getvalue())
    with Image.open(io.BytesIO(small)) as im:
        assert im.size == (120, MAX_SIDE)  # orientation 6: turned upright, longest side 240
    assert hashlib.sha256(small).hexdigest() == hashlib.sha256(shrink(buf.getvalue())).hexdigest()


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    return exif.tobytes()


def test_machine_notes_are_shown_apart_and_kept_out_of_the_schedules(tmp_path: Path) -> None:
    """Issue 15 item 5: what a named-entity model read in a cited message is labelled machine output, shown
    beside the finding (escaped like any text) and never in the explanation or schedule_findings.csv."""
    from tests.report_store import ReportStore
    from triage.model.records import Finding

    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/data/com.whatsapp/databases/msgstore.db", parser="whatsapp_android")
    message = rs.message(src, "Boat tonight from Gravelines")
    note = {
        "record": {"type": "message", "id": message.id},
        "model": "spaCy core_web_sm 3.8.0",
        "entities": [{"text": "Gravelines", "label": "GPE"}, {"text": "<b>tonight</b>", "label": "TIME"}],
    }
    rs.add(
        Finding(
            rule_id="TXT-01",
            rule_version="1",
            severity="MEDIUM",
            title="Crossing vocabulary",
            explanation="Crossing vocabulary: 1 record(s).",
            time_utc=None,
            family="comms",
            evidence=[
                {
                    "type": "message",
                    "id": message.id,
                    "provenance": src.provenance,
                    "sha256": src.sha256,
                    "table": "message",
                    "row": "1",
                    "offset": None,
                }
            ],
            extra={"machine_notes": [note]},
        )
    )
    rs.write(files_selected=1)
    page = (rs.out / "index.html").read_text(encoding="utf-8")
    assert (
        "Machine notes, not evidence — names a model read in the cited text, for review (spaCy core_web_sm "
        f"3.8.0): message #{message.id}: GPE <bdi>Gravelines</bdi>, "
        "TIME <bdi>&lt;b&gt;tonight&lt;/b&gt;</bdi>"
    ) in page
    findings = json.loads((rs.out / "findings.json").read_text(encoding="utf-8"))
    assert findings["schema_version"] == "1.4" and findings["findings"][0]["machine_notes"] == [note]
    schedule = (rs.out / "schedule_findings.csv").read_text(encoding="utf-8-sig")
    assert "spaCy" not in schedule and "GPE" not in schedule and "Crossing vocabulary" in schedule


def test_conversations_show_what_the_phone_calls_each_number_and_group(bundle) -> None:
    """Issue 15 item 1: beside the raw identifier (never instead of it), the name the phone's own records
    give — the contact for a WhatsApp JID, the group's subject, the Telegram dialog — with its source on
    hover; the bubbles carry the sender's name, so the page's text filter finds "Abu Jamal"."""
    from tests.report_demo import conversations, listing

    out = payload(bundle[0])
    index = listing(out, "conversations")
    row = index[index.index("33612345678@s.whatsapp.net</a>") :]
    row = row[: row.index("</td>")]
    assert "<bdi>Abu Jamal</bdi>" in row and "person #" in row and "on the people pages" in row
    group = index[index.index("120363025246125486@g.us</a>") :]
    assert group[: group.index("</td>")].endswith(
        '<span class="name" title="the WhatsApp group&#39;s subject, as stored with its messages">'
        "<bdi>Dunkirk May</bdi></span>"
    )
    assert 'title="the Telegram dialog&#39;s name, as stored with its messages"><bdi>UK Crossing' in index
    (abu,) = [c for c in conversations(out) if "thread 33612345678@s.whatsapp.net" in c]
    header = abu[abu.index("<h3>") : abu.index("</h3>")]
    assert header.startswith('<h3><span class="name"') and "<bdi>Abu Jamal</bdi></span> · whatsapp · thread" in header
    incoming = [b.split('<div class="text"')[0] for b in abu.split('<div class="bubble in"')[1:]]
    assert incoming and all("(<bdi>Abu Jamal</bdi>)" in meta for meta in incoming)


def test_rules_that_did_not_fire_are_listed_with_why(bundle, page: str, tmp_path: Path) -> None:
    """Issue 15 item 4: every rule of the pack either gave a finding or is listed with why it did not."""
    from tests.report_store import ReportStore

    findings = json.loads((payload(bundle[0]) / "findings.json").read_text(encoding="utf-8"))
    fired = {f["rule_id"] for f in findings["findings"]}
    quiet = {r["rule_id"]: r for r in findings["rules_not_fired"]}
    assert fired.isdisjoint(quiet) and fired | set(quiet) == {r.id for r in load_pack().rules}
    assert quiet["PHN-04"]["why"].endswith("none matched a watch-list entry (a run without --watchlist has none)")
    assert quiet["COR-01"]["why"].startswith("it combines other rules' findings")
    assert f"Rules that did not fire ({len(quiet)} of {len(quiet) + len(fired)})" in page
    rs = ReportStore(tmp_path / "out")  # a phone with one SMS and nothing else
    rs.message(rs.source("/data/mmssms.db"), "hello")
    rs.write(files_selected=1)
    quiet = {r["rule_id"]: r["why"] for r in json.loads((rs.out / "findings.json").read_text())["rules_not_fired"]}
    assert quiet["GEO-01"] == "nothing to read: no location record in what was parsed"
    assert quiet["TXT-01"] == "1 message record(s) read; none met its conditions"

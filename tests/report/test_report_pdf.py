"""report.pdf: renders with poppler, first page carries the SFR1-style summary, then the findings, counts and
exports with their SHA-256, never the record listings; same input gives same bytes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from tests.report_demo import (
    CASE,
    DEMO_MANIFEST,
    EXAMINER,
    EXHIBIT,
    demo_bundle,
    positions_on_map,
    read_jsonl,
    run_demo,
)
from triage.report.pdf import pdf_unavailable

POPPLER = [shutil.which(t) for t in ("pdftoppm", "pdftotext", "pdfinfo")]
pytestmark = [
    pytest.mark.skipif(pdf_unavailable() is not None, reason=f"report.pdf is not written here: {pdf_unavailable()}"),
    pytest.mark.skipif(
        not all(POPPLER),
        reason="poppler-utils (pdftoppm, pdftotext, pdfinfo) not installed: apt-get install poppler-utils",
    ),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, evidence_guard) -> tuple[Path, Path, str]:
    return demo_bundle(tmp_path_factory, evidence_guard)


def pdftotext(pdf: Path, first: int, last: int) -> str:
    text = subprocess.run(
        ["pdftotext", "-f", str(first), "-l", str(last), "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return " ".join(text.split())


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def test_pdf_renders_every_page_with_pdftoppm(bundle, tmp_path: Path) -> None:
    pdf = payload(bundle[0]) / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    n = pages(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == n > 3
    assert all(p.stat().st_size > 1000 for p in rendered)
    print(f"report.pdf: {n} pages rendered to {tmp_path}")


def test_first_page_is_the_sfr1_summary(bundle) -> None:
    out, _, fingerprint = bundle
    out = payload(out)
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    page1 = pdftotext(out / "report.pdf", 1, 1)
    assert "SFR1" in page1
    for value in (
        f"Exhibit reference {EXHIBIT}",
        f"Examiner (operator) {EXAMINER}",
        CASE,
        f"mobile-triage version {findings['tool']['version']}",
        findings["rule_pack"]["sha256"],
        DEMO_MANIFEST["disk"]["sha256"],
        DEMO_MANIFEST["disk"]["md5"],
        DEMO_MANIFEST["e01"]["stored_md5"],
        "verified: yes, matches",
        "SM-A536B",
        "R5CT21DEMO7",
        "EWF/E01",
    ):
        assert value in page1, value
    assert fingerprint.replace(":", "")[:20] in page1.replace(":", "").replace(" ", "")
    assert re.search(
        r"Examination \(UTC and local\) started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC "
        r"\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (GMT|BST)",
        page1,
    )
    # the cited records stated as facts, with their locations in the evidence, start on page 1 (issue 15)
    cited = {(ref["type"], ref["id"]) for x in findings["findings"] for ref in x["evidence"]}
    assert f"Part 1. The cited records ({len(cited)})" in page1
    assert re.search(r"1\. Message #\d+ \((sms|whatsapp|telegram)\), (sent to|received from) ", page1)
    assert "Where: EWF demo.E01 → GPT partition 2 'userdata' → ext4 → /data/" in page1


def test_summary_states_every_finding_and_the_declarations(bundle) -> None:
    out = payload(bundle[0])
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    messages = {m["id"]: m for m in read_jsonl(out / "records" / "message.jsonl")}
    end = next(
        i for i in range(1, pages(out / "report.pdf") + 1) if "Full report" in pdftotext(out / "report.pdf", i, i)
    )
    summary = pdftotext(out / "report.pdf", 1, end - 1)
    for n, x in enumerate(findings["findings"], start=1):
        assert f"F{n}. {x['rule_id']} v{x['rule_version']}: {x['title']}" in summary
        for ref in x["evidence"]:
            if ref["type"] == "message":
                m = messages[ref["id"]]
                prov = m["provenance"]
                assert f"Message #{m['id']} ({m['app']})" in summary
                assert f"table {prov['table']} row {prov['row']}" in summary
    assert "Texts are quoted as stored, not translated" in summary
    for field in (
        "Declarations (to be completed by the examiner)",
        "Accreditation status",
        "Forensic Science Regulator Code of Practice",
        "Code requirement not met",
        "Mitigation",
        "Statement of truth",
        "Signature",
    ):
        assert field in summary, field


def test_full_report_follows_with_map_counts_and_exports(bundle) -> None:
    out = payload(bundle[0])
    pdf = out / "report.pdf"
    text = pdftotext(pdf, 1, pages(pdf))
    messages = read_jsonl(out / "records" / "message.jsonl")
    threads = len({(m["app"], m["thread"]) for m in messages})
    counts = json.loads((out / "findings.json").read_text(encoding="utf-8"))["record_counts"]
    for heading in (
        "Full report",
        "Case and exhibit",
        "Assessment",
        f"Map ({len(positions_on_map(out))} position(s))",
        f"Records ({sum(counts.values())})",
        f"message {len(messages)} {threads} conversation(s)",
        f"media_file {len(read_jsonl(out / 'records' / 'media_file.jsonl'))}",
        f"payment {len(read_jsonl(out / 'records' / 'payment.jsonl'))}",
        "Examination record",
    ):
        assert heading in text, heading
    # every export is named with the SHA-256 of the file in the bundle
    custody = read_jsonl(out / "custody.jsonl")
    written = next(e for e in custody if e["action"] == "report written")["details"]["files"]
    exports = [
        name
        for name in written
        if name.startswith("records/")
        or name.endswith((".jsonld", ".kml", ".geojson"))
        or name.startswith("schedule_")
        or name == "findings.json"
    ]
    assert len(exports) >= 30 and f"Exports ({len(exports)} files)" in text
    for name in exports:
        assert f"{name} {hashlib.sha256((out / name).read_bytes()).hexdigest()}" in text, name
    # the statement never lists the phone's records: a message no finding cites is not in it
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    cited = {ref["id"] for x in findings["findings"] for ref in x["evidence"] if ref["type"] == "message"}
    uncited = [m for m in messages if m["id"] not in cited and m["body"] and len(m["body"]) > 30]
    assert uncited and not any(" ".join(m["body"].split()) in text for m in uncited)
    raw = pdf.read_bytes()
    assert b"/URI (http" not in raw and b"/URI(http" not in raw  # no link out of the document


def test_same_report_gives_the_same_pdf_bytes(bundle, tmp_path: Path) -> None:
    from rules.engine import load_pack
    from triage.report.html import build_report
    from triage.report.pdf import render_pdf
    from triage.store import CaseStore

    out = payload(bundle[0])
    shutil.copy(out / "case.sqlite", tmp_path / "case.sqlite")  # never open the sealed bundle's store
    shutil.copytree(out / "thumbs", tmp_path / "thumbs")
    store = CaseStore.in_folder(tmp_path, finished=True)
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    exports = {"findings.json": hashlib.sha256((out / "findings.json").read_bytes()).hexdigest()}
    report = build_report(store, findings, out / "custody.jsonl", tmp_path, load_pack().zones, None, exports)
    assert render_pdf(report, tmp_path / "a.pdf") == []
    assert render_pdf(report, tmp_path / "b.pdf") == []
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    store.session.close()


def test_run_without_pdf_engine_records_a_warning_and_goes_on(bundle, tmp_path: Path, monkeypatch) -> None:
    """The report's second process, which makes report.pdf, finds that WeasyPrint cannot be loaded (a package of
    that name that fails as a missing Pango does, first on its path); the run's own process never loads it."""
    shadow = tmp_path / "shadow" / "weasyprint"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise OSError(\"cannot load library 'pango-1.0-0': no pango\")\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))
    out = payload(run_demo(tmp_path, bundle[1]))
    assert not (out / "report.pdf").exists() and (out / "index.html").is_file()
    warnings = [w["message"] for w in read_jsonl(out / "records" / "parse_warning.jsonl")]
    assert (
        "report.pdf not written: WeasyPrint cannot be loaded (OSError: cannot load library 'pango-1.0-0': no "
        "pango); install the Python package weasyprint" in " ".join(warnings)
    )
    assert "report.pdf not written" in (out / "index.html").read_text(encoding="utf-8")
    custody = [e["action"] for e in read_jsonl(out / "custody.jsonl")]
    assert "report.pdf not written" in custody and custody[-1] == "run finished"


def test_a_finding_citing_thousands_prints_its_first_records_and_names_the_full_list(tmp_path: Path) -> None:
    """Issue 14: the statement's size follows the findings, not the phone. A finding citing 230 positions
    prints the first PDF_CITED_PER_FINDING, says how many more, and where every one is listed."""
    from tests.report_store import ReportStore
    from triage.model.records import Finding
    from triage.report.pdf import PDF_CITED_PER_FINDING

    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/data/com.whatsapp/databases/msgstore.db", parser="whatsapp_android")
    cited = [rs.location(src, f"pin {n:03d}", latitude=50.95 + n / 10_000) for n in range(PDF_CITED_PER_FINDING + 30)]
    rs.add(
        Finding(
            rule_id="GEO-01",
            rule_version="1",
            severity="MEDIUM",
            title="Many positions",
            explanation="cites every position",
            time_utc=None,
            family="geo",
            evidence=[
                {
                    "type": "location",
                    "id": loc.id,
                    "provenance": src.provenance,
                    "sha256": src.sha256,
                    "table": None,
                    "row": None,
                    "offset": None,
                }
                for loc in cited
            ],
        )
    )
    rs.write(files_selected=1)
    text = pdftotext(rs.out / "report.pdf", 1, pages(rs.out / "report.pdf"))
    # the full report's finding names Part 1's numbers instead of listing its records a second time
    full = " ".join(text.split("Full report", 1)[1].split())
    assert (
        f"The {PDF_CITED_PER_FINDING + 30} record(s) it cites are stated once in Part 1 (numbers "
        f"1–{PDF_CITED_PER_FINDING}); 30 of them are not stated there"
    ) in full
    assert "Annex A (F1) sets out its rule." in full
    assert (
        "30 further cited record(s) are not stated here; findings.json and schedule_findings.csv list every one"
    ) in text
    assert "Position #" in text and "latitude, longitude 50.969900, 1.850000" in text  # the 200th
    # the 201st and the last are not stated (the map's own table, after the statement, may list every position)
    statement = text.split("Full report", 1)[0]
    assert "50.970000" not in statement and "50.972900" not in statement
    assert "and 30 record(s) not stated in Part 1" in statement
    findings = json.loads((rs.out / "findings.json").read_text(encoding="utf-8"))
    assert len(findings["findings"][0]["evidence"]) == PDF_CITED_PER_FINDING + 30


def test_a_cited_photo_is_stated_once_with_its_picture(tmp_path: Path) -> None:
    """A finding citing a photo file: Part 1 states it with its thumbnail; the full report names Part 1's number
    and prints neither the record nor the picture a second time."""
    from PIL import Image

    from tests.report_store import ReportStore
    from triage.enrich.thumbnails import Thumbnails
    from triage.model.records import Finding

    rs = ReportStore(tmp_path / "out")
    src = rs.source("/media/0/DCIM/Camera/IMG_20250514_171000.jpg", parser="photo_exif")
    photo = rs.media(src, "/media/0/DCIM/Camera/IMG_20250514_171000.jpg", "5f" * 32)
    rs.cite(photo, src, title="Watch-listed picture")
    rs.add(
        Finding(
            rule_id="TST-02",
            rule_version="1",
            severity="LOW",
            title="Nothing cited",
            explanation="an indicator on the phone as a whole",
            evidence=[],
            time_utc=None,
            family="test",
        )
    )
    (rs.out / "thumbs").mkdir(parents=True)
    Image.new("RGB", (96, 64), (200, 30, 30)).save(rs.out / "thumbs" / "m1.jpg", quality=90)
    rs.write(files_selected=1, thumbnails=Thumbnails(made={photo.id: "thumbs/m1.jpg"}))
    pdf = rs.out / "report.pdf"
    text = " ".join(pdftotext(pdf, 1, pages(pdf)).split())
    statement, full = text.split("Full report", 1)
    assert f"1. Photo or video file #{photo.id} /media/0/DCIM/Camera/IMG_20250514_171000.jpg" in statement
    assert "The 1 record(s) it cites are stated once in Part 1 (number 1). Annex A (F1) sets out its rule." in full
    assert "It cites no record. Annex A (F2) sets out its rule." in full
    assert "IMG_20250514_171000.jpg" not in full.split("Map", 1)[0]
    listed = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    images = [line.split() for line in listed.splitlines()[2:]]
    assert [(row[0], row[3], row[4]) for row in images if row[2] == "image"] == [("1", "96", "64")]  # page 1


def test_the_summary_gives_the_number_of_the_phones_own_account(bundle) -> None:
    """Issue 15 item 9: the demo's SIM tables name no number, but its Telegram account is registered with
    +447700900456: the summary says so, and where that comes from, instead of "not found"."""
    out = payload(bundle[0])
    page1 = pdftotext(out / "report.pdf", 1, 2)
    assert "Phone number +447700900456" in page1 or "Phone number: +447700900456" in page1
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "telegram account: EWF demo.E01" in index and "userconfing.xml (table shared_prefs, row user)" in index


def test_each_emoji_image_is_made_once_and_the_pages_are_those_weasyprint_draws(tmp_path: Path, monkeypatch) -> None:
    """WeasyPrint makes (decodes and encodes again) an image for every colour emoji it draws; report.pdf makes one per
    glyph (`_GlyphImages`): the same pages, pixel for pixel, as WeasyPrint's own way draws them."""
    from weasyprint.draw import text

    import triage.report.pdf as pdf

    if (
        not shutil.which("fc-list")
        or "Noto Color Emoji" not in subprocess.run(["fc-list"], capture_output=True, text=True).stdout
    ):
        pytest.skip("no colour emoji font (fonts-noto-color-emoji): emoji are not drawn as images")
    page = "<html><body>" + "".join(f"<p dir='auto'>boat {e * 150} قارب {e}</p>" for e in "😂🚤🌊") + "</body></html>"
    own = text.RasterImage
    weasyprint_own = own.make if isinstance(own, pdf._GlyphImages) else own
    drawn = {}
    for way in ("once", "every time"):
        (tmp_path / way).mkdir()
        if way == "every time":
            monkeypatch.setattr(pdf, "_draw_each_emoji_image_once", lambda: None)
            monkeypatch.setattr(text, "RasterImage", weasyprint_own)
        assert pdf.make_pdf(page, tmp_path / way).written
        if way == "once":
            assert isinstance(text.RasterImage, pdf._GlyphImages) and len(text.RasterImage.made) == 3
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(tmp_path / way / "report.pdf"), str(tmp_path / way / "p")])
        drawn[way] = {p.name: p.read_bytes() for p in sorted((tmp_path / way).glob("p*.png"))}
    assert drawn["once"] == drawn["every time"] and len(drawn["once"]) >= 1

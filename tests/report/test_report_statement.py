"""report.pdf as a statement a court can use (issue 15 items 6-9): part 1 states the cited records once, in
time order, without inference; the annex of indicators follows; right-to-left text keeps its amounts in
order; figures never wrap; emoji print; the examination record is a table in words on landscape pages;
bookmarks; the country of an ambiguous number explained; CPIA schedules in the MG6C shape.

Read with poppler's pdftotext in both its layout and raw modes, on the demo run and on small stores made
for one property each (tests/report_store.py)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.bundle_layout import payload
from tests.report_demo import ROOT, demo_bundle, read_jsonl
from triage.report.bidi import direction, evidence_html, runs
from triage.report.pdf import pdf_unavailable
from triage.report.statement import fact_list

POPPLER = [shutil.which(t) for t in ("pdftotext", "pdfinfo", "pdffonts")]
needs_pdf = [
    pytest.mark.skipif(pdf_unavailable() is not None, reason=f"report.pdf is not written here: {pdf_unavailable()}"),
    pytest.mark.skipif(
        not all(POPPLER),
        reason="poppler-utils (pdftotext, pdfinfo, pdffonts) not installed: apt-get install poppler-utils",
    ),
]
KINDS = {
    "Message": "message",
    "Position": "location",
    "Call": "call",
    "Photo or video file": "media_file",
    "Payment detail": "payment",
    "Contact": "contact",
    "Account": "account",
}
FACT_HEAD = re.compile(
    r"(?:^|\s)(\d+)\. (Message|Position|Call|Photo or video file|Payment detail|Contact|Account) #(\d+)"
)
UNTIMED = ("contact", "account")  # entries of a list, not events: stated last, "no time of its own"
SORANI_PRICE = "سڵاو برا، نرخ بۆ هەر کەسێک £2,500 ە (£2,500 per person) تا بەریتانیا"


def pdftotext(pdf: Path, mode: str = "-layout") -> str:
    return subprocess.run(["pdftotext", mode, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def joined(text: str) -> str:
    return " ".join(text.split())


def statement_of(text: str) -> str:
    """The statement: everything before the full report that follows it."""
    assert text.count("Full report") == 1
    return text.split("Full report", 1)[0]


def part1_of(text: str) -> str:
    return text.split("Part 1. The cited records", 1)[1].split("The device's identifiers and accounts", 1)[0]


def stated_numbers(part1: str) -> dict[tuple[str, int], int]:
    """(record type, id) → its number in part 1; each record must be stated once."""
    found = [(KINDS[kind], int(rid), int(n)) for n, kind, rid in FACT_HEAD.findall(joined(part1))]
    keys = [(kind, rid) for kind, rid, _ in found]
    assert len(keys) == len(set(keys)), f"a record stated twice: {keys}"
    assert [n for *_, n in found] == list(range(1, len(found) + 1))
    return {(kind, rid): n for kind, rid, n in found}


@pytest.fixture(scope="module")
def demo(tmp_path_factory, evidence_guard) -> Path:
    return payload(demo_bundle(tmp_path_factory, evidence_guard)[0])


# -- part 1 and the annex, on the demo ------------------------------------------------------------------------


class TestDemoStatement:
    pytestmark = needs_pdf

    def test_each_cited_record_is_stated_once_in_time_order(self, demo: Path) -> None:
        findings = json.loads((demo / "findings.json").read_text(encoding="utf-8"))["findings"]
        cited = {(ref["type"], ref["id"]) for x in findings for ref in x["evidence"]}
        part1 = part1_of(pdftotext(demo / "report.pdf"))
        numbers = stated_numbers(part1)
        assert set(numbers) == cited
        # the demo's message #3 is cited by several findings (TXT-01 and TXT-02 at least; how many more follows
        # the rules being tuned, issue 18): stated once, with all their numbers
        citing = [
            n
            for n, x in enumerate(findings, start=1)
            if any((r["type"], r["id"]) == ("message", 3) for r in x["evidence"])
        ]
        assert len(citing) >= 2 and joined(part1).count("Message #3 (sms)") == 1
        assert f"Cited by finding(s): {fact_list(citing)} (Annex A)" in joined(part1)
        stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
        times = re.findall(rf"When: ({stamp}) UTC \({stamp} (?:BST|GMT) UK\)", joined(part1))
        untimed = {k for k in cited if k[0] in UNTIMED}
        assert len(times) == len(cited) - len(untimed) and times == sorted(times)
        # the contact APP-01 cites (the demo's Telegram channel): stated after the timed records, with its role
        assert untimed and sorted(numbers[k] for k in untimed) == list(range(len(times) + 1, len(cited) + 1))
        assert joined(part1).count("the record has no time of its own") == len(untimed)
        assert "Contact #11 (telegram): name UK Crossing" in joined(part1)
        assert "kind as stored channel; the device user's role as stored member" in joined(part1)
        messages = {m["id"]: m for m in read_jsonl(demo / "records" / "message.jsonl")}
        m3 = messages[3]
        assert f"stored as {m3['time_raw']} (unix_ms)" in joined(part1)
        assert f"table {m3['provenance']['table']} row {m3['provenance']['row']}" in joined(part1)

    def test_the_statement_names_no_rule_before_its_annex(self, demo: Path) -> None:
        from rules.engine import load_pack

        text = joined(pdftotext(demo / "report.pdf"))
        before = text.split("Annex A. Indicators", 1)[0]
        assert "Part 1. The cited records" in before and "Statement of truth" in before
        for rule in load_pack().rules:
            assert rule.title not in before, rule.title
        assert not re.search(r"\b[A-Z]{3}-\d\d\b", before), re.search(r"\b[A-Z]{3}-\d\d\b", before)
        assert not re.search(r"\b(HIGH|MEDIUM|LOW|INFO)\b", before)
        # and the annex names every finding's rule after it
        annex = text.split("Annex A. Indicators", 1)[1]
        findings = json.loads((demo / "findings.json").read_text(encoding="utf-8"))["findings"]
        for n, x in enumerate(findings, start=1):
            assert f"F{n}. {x['rule_id']} v{x['rule_version']}: {x['title']}" in annex

    def test_the_annex_defines_each_rule_and_cites_facts_by_number(self, demo: Path) -> None:
        from rules.engine import load_pack

        numbers = stated_numbers(part1_of(pdftotext(demo / "report.pdf")))
        # raw mode: a table's header cell and its value come one after the other, whatever their lines
        annex = joined(statement_of(pdftotext(demo / "report.pdf", "-raw")).split("Annex A. Indicators", 1)[1])
        findings = json.loads((demo / "findings.json").read_text(encoding="utf-8"))["findings"]
        pack = load_pack()
        entries = re.split(r"\bF\d+\. (?=[A-Z]{3}-\d\d v)", annex)[1:]
        assert len(entries) == len(findings)
        seen: dict[tuple[str, str], int] = {}
        for n, (x, entry) in enumerate(zip(findings, entries, strict=True), start=1):
            facts = sorted({numbers[(r["type"], r["id"])] for r in x["evidence"]})
            assert f"Records cited Part 1: {fact_list(facts)}" in entry, (n, entry[-300:])
            assert f"Severity {x['severity']} (indicator for review)" in entry
            rule = pack.rule(x["rule_id"])
            first = seen.setdefault((x["rule_id"], x["rule_version"]), n)
            if first == n:
                assert f"Reads: {', '.join(rule.reads)}. Condition: {{" in entry
                assert " ".join(rule.rationale.split())[:60] in entry
                assert rule.innocent and all(" ".join(text.split())[:50] in entry for text in rule.innocent)
            else:
                assert f"Definition as for F{first} above" in entry
        geo01 = entries[0]
        assert "innocent visit" in geo01 and "max_accuracy_m: 500" in geo01

    def test_a_sorani_price_keeps_its_amount_in_order_in_both_text_modes(self, demo: Path) -> None:
        messages = read_jsonl(demo / "records" / "message.jsonl")
        assert any(m["body"] == SORANI_PRICE for m in messages)  # the demo's message, cited by several findings
        for mode in ("-layout", "-raw"):
            part1 = part1_of(pdftotext(demo / "report.pdf", mode))
            assert part1.count("£2,500") == 2, (mode, part1)
            assert "2,500£" not in part1 and "500,2" not in part1
            assert "£2,500 per person" in part1
            for word in ("نرخ", "بەریتانیا", "سڵاو"):
                assert word in part1

    def test_ambiguous_numbers_cited_have_their_country_explained(self, demo: Path) -> None:
        text = joined(statement_of(pdftotext(demo / "report.pdf")))
        annex_b = text.split("Annex B. Phone numbers whose country is ambiguous", 1)[1]
        party = next(p for p in read_jsonl(demo / "records" / "party.jsonl") if p["e164"] == "+9647501234567")
        assert party["ambiguous"]
        assert "+9647501234567 (named Karwan on the phone)" in annex_b
        assert (
            "Its stored forms fit more than one country: United Kingdom (GB) as +447501234567; "
            "Iraq (IQ) as +9647501234567."
        ) in annex_b
        assert "The report gives +9647501234567, Iraq (IQ), because: international format" in annex_b
        assert "not where its user is or was, nor the user's nationality" in annex_b

    def test_the_device_identifiers_and_accounts_are_stated_with_their_sources(self, demo: Path) -> None:
        section = joined(pdftotext(demo / "report.pdf")).split("The device's identifiers and accounts", 1)[1]
        section = section.split("Translation status and limitations", 1)[0]
        account = read_jsonl(demo / "records" / "account.jsonl")[0]
        assert f"App account {account['app']}: {account['identifier']}" in section
        assert "userconfing.xml (table shared_prefs, row user)" in section
        assert (
            "Model SM-A536B EWF demo.E01 → GPT partition 1 'system' → ext4 → /system/ build.prop" in section
            or "Model SM-A536B EWF demo.E01 → GPT partition 1 'system' → ext4 → /system/build.prop" in section
        )

    def test_the_examination_record_is_a_table_in_words_on_landscape_pages(self, demo: Path) -> None:
        pdf = demo / "report.pdf"
        pages = int(
            re.search(
                r"^Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout, re.M
            ).group(1)
        )
        record_pages = []
        for page in range(1, pages + 1):
            text = subprocess.run(
                ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                capture_output=True,
                text=True,
            ).stdout
            size = subprocess.run(
                ["pdfinfo", "-f", str(page), "-l", str(page), str(pdf)], capture_output=True, text=True
            ).stdout
            width, height = map(float, re.search(rf"Page\s+{page} size:\s+([\d.]+) x ([\d.]+)", size).groups())
            if "Examination record" in text:
                record_pages.append(page)
                assert width > height, f"page {page} is not landscape"
            if page <= 2:
                assert height > width  # the statement itself is portrait
        assert record_pages
        record = joined(pdftotext(pdf, "-raw")).split("Examination record", 1)[1].split("The custody log", 1)[0]
        assert "# Time (UTC) Local offset Actor Action Description" in record
        assert "run started mobile-triage" in record and "evidence demo.E01" in record
        assert "computed hashes match the stored acquisition hashes" in record
        custody = read_jsonl(demo / "custody.jsonl")
        started = custody[0]["details"]
        for machine in (started["host"], started["output"], started["store"], str(ROOT), started["evidence"]):
            assert machine not in record, machine
        assert socket.gethostname() not in record
        assert '{"' not in record and '":' not in record  # no JSON

    def test_the_pdf_has_bookmarks_for_the_statement_and_its_annexes(self, demo: Path) -> None:
        titles = outline_titles(demo / "report.pdf")
        for wanted in (
            "Part 1. The cited records",
            "The device's identifiers and accounts",
            "Annex A. Indicators",
            "Annex B. Phone numbers",
            "Full report",
            "Examination record",
        ):
            assert any(t.startswith(wanted) for t in titles), (wanted, titles)
        assert any(re.match(r"F1\. [A-Z]{3}-\d\d v", t) for t in titles)

    def test_cpia_schedules_have_the_mg6c_columns(self, demo: Path) -> None:
        with open(demo / "schedule_findings.csv", encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
        assert reader.fieldnames[:5] == ["number", "description", "relevance", "may_undermine_or_assist", "location"]
        findings = json.loads((demo / "findings.json").read_text(encoding="utf-8"))["findings"]
        assert [r["number"] for r in rows] == [f"F{n}" for n in range(1, len(findings) + 1)]
        first = rows[0]
        assert first["description"].startswith(f"finding {findings[0]['rule_id']} v{findings[0]['rule_version']}")
        assert first["relevance"].startswith(f"indicator for review, {findings[0]['severity']}, not a conclusion")
        assert first["may_undermine_or_assist"].endswith("not assessed by the tool: for the disclosure officer")
        assert first["location"].startswith("EWF demo.E01 → ")
        with open(demo / "schedule_material_examined.csv", encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            examined = list(reader)
        assert reader.fieldnames[:5] == ["number", "description", "relevance", "may_undermine_or_assist", "location"]
        sms = next(r for r in examined if r["path"].endswith("mmssms.db"))
        assert sms["description"].startswith(f"file {sms['path']} (") and sms["sha256"] in sms["description"]
        assert sms["location"] == sms["provenance"]


def outline_titles(pdf: Path) -> list[str]:
    """The titles of the PDF's bookmarks (outline items), read from its (compressed) object streams."""
    raw = pdf.read_bytes()
    chunks = [raw]
    for match in re.finditer(rb"stream\r?\n", raw):
        try:
            chunks.append(zlib.decompressobj().decompress(raw[match.end() :]))
        except zlib.error:
            continue
    titles = []
    for chunk in chunks:
        for m in re.finditer(rb"/Title\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)", chunk):
            value = m.group(1)
            if value.startswith(b"("):
                titles.append(re.sub(rb"\\(.)", rb"\1", value[1:-1]).decode("latin-1"))
            else:
                data = bytes.fromhex(value[1:-1].decode().replace(" ", ""))
                titles.append(data[2:].decode("utf-16-be") if data.startswith(b"\xfe\xff") else data.decode("latin-1"))
    return titles


# -- figures, emoji and the +44 territories, on a store made for them --------------------------------------------

FIGURES = ("£3,000.00", "+44 7400 123987", "1,234,567.89", "2025-05-14")
PAID = "4,321.50"  # the payment's amount, printed by the report's templates (display.ltr_html)


@pytest.fixture(scope="module")
def figures_run(tmp_path_factory) -> Path:
    """Messages whose figures fall at every place of a line (a longer prefix each time), a payment of 4,321.50
    GBP, a birthday message with emoji, and an ambiguous +44 number placed in Guernsey, all cited."""
    from tests.report_store import ReportStore
    from triage.model.records import Finding, Party, Payment

    rs = ReportStore(tmp_path_factory.mktemp("statement") / "out")
    src = rs.source("/data/data/com.android.providers.telephony/databases/mmssms.db")
    cited = [
        rs.message(
            src,
            "ab " * k + f"pay {FIGURES[0]} to {FIGURES[1]}, total {FIGURES[2]} by {FIGURES[3]} ok",
            counterpart="07911123456",
            row=k,
        )
        for k in range(1, 41)
    ]
    cited.append(rs.message(src, "Happy birthday brother!! 🎂🎉 Mum sends her love ❤️", row=99))
    payment = rs.add(
        Payment(
            method="amount",
            amount=4321.5,
            currency="GBP",
            direction="received",
            counterpart="07911123456",
            context="4321.50 GBP for the car",
            time_utc=cited[0].time_utc,
            source_file_id=src.id,
            source_table="sms",
            source_row="1",
        )
    )
    rs.add(
        Party(
            key="+447911123456",
            e164="+447911123456",
            region="GG",
            basis="international format; the form '07911123456' also fits +447911123456 (GG), +9647911123456 (IQ)",
            ambiguous=True,
            candidates=["+447911123456 (GG)", "+9647911123456 (IQ)"],
            names=["Dara London"],
            apps=["sms"],
            raw_forms=["07911123456"],
            refs=[{"type": "message", "id": cited[0].id, "field": "counterpart", "raw": "07911123456"}],
        )
    )
    evidence = [
        {
            "type": r.record_type,
            "id": r.id,
            "provenance": src.provenance,
            "sha256": src.sha256,
            "table": r.source_table,
            "row": r.source_row,
            "offset": None,
        }
        for r in [*cited, payment]
    ]
    rs.add(
        Finding(
            rule_id="TST-01",
            rule_version="1",
            severity="LOW",
            title="Figures test",
            explanation="test",
            evidence=evidence,
            time_utc=None,
            family="test",
        )
    )
    rs.write(files_selected=1)
    return rs.out


class TestFigures:
    pytestmark = needs_pdf

    def test_figures_are_never_broken_across_lines(self, figures_run: Path) -> None:
        text = pdftotext(figures_run / "report.pdf")
        statement = statement_of(text)
        for figure in FIGURES:  # in the evidence texts of the statement: each message's figures at every place
            assert broken(statement, figure) == 0, figure
            assert whole(statement, figure) >= 40
        for figure in (PAID, f"{PAID} GBP"):  # the payment record's amount, in the statement
            assert broken(statement, figure) == 0 and whole(statement, figure) >= 1
        assert broken(text, PAID) == 0  # nowhere in the document (the full report names Part 1's numbers)

    def test_emoji_print_with_the_colour_emoji_font(self, figures_run: Path) -> None:
        fonts = subprocess.run(["fc-list"], capture_output=True, text=True).stdout
        if "Noto Color Emoji" not in fonts:
            pytest.skip("no colour emoji font here: apt-get install fonts-noto-color-emoji")
        pdf = figures_run / "report.pdf"
        used = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "Noto-Color-Emoji" in used
        assert "🎂🎉" in pdftotext(pdf, "-raw")
        # digits stay in the text font: the emoji font is only for emoji code points (report.css unicode-range)
        statement = pdftotext(pdf).split("Full report", 1)[0]
        assert "£3,000.00" in statement


def whole(text: str, figure: str) -> int:
    """How many times `figure` is printed on one line (pdftotext -layout may widen its spaces)."""
    pattern = re.compile(re.escape(figure).replace(r"\ ", " +"))
    return sum(len(pattern.findall(line)) for line in text.splitlines())


def broken(text: str, figure: str) -> int:
    """How many times `figure` is printed across a line break: its characters are there, not on one line."""
    return re.sub(r"\s+", "", text).count(re.sub(r"\s+", "", figure)) - whole(text, figure)

    def test_a_guernsey_number_is_explained(self, figures_run: Path) -> None:
        text = joined(statement_of(pdftotext(figures_run / "report.pdf")))
        annex_b = text.split("Annex B. Phone numbers whose country is ambiguous (1)", 1)[1]
        assert (
            "Its stored forms fit more than one country: Guernsey (GG) as +447911123456; Iraq (IQ) as "
            "+9647911123456." in annex_b
        )
        assert (
            "The calling code +44 is shared by the United Kingdom (GB), Guernsey (GG), Jersey (JE) and the Isle "
            "of Man (IM)"
        ) in annex_b
        assert "places this number's range in Guernsey (GG)" in annex_b


# -- the bidi runs themselves ----------------------------------------------------------------------------------


def test_right_to_left_text_isolates_its_left_to_right_runs_and_changes_no_character() -> None:
    assert direction(SORANI_PRICE) == "rtl" and direction("Salam, 1500 euro") == "ltr" and direction("123") == "ltr"
    parts = runs(SORANI_PRICE, rtl=True)
    assert "".join(p for p, _ in parts) == SORANI_PRICE
    assert [p for p, isolated in parts if isolated] == ["£2,500", "£2,500 per person"]
    html = evidence_html(SORANI_PRICE)
    assert html.count('<span class="num" dir="ltr">') == 2
    assert re.sub(r"<[^>]+>", "", html) == SORANI_PRICE


def test_left_to_right_text_isolates_only_its_figures() -> None:
    text = "Pay £3,000.00 to +44 7911 123456. Then -5, a-b, 12:30 and 100%."
    parts = runs(text, rtl=False)
    assert "".join(p for p, _ in parts) == text
    assert [p for p, isolated in parts if isolated] == ["£3,000.00", "+44 7911 123456", "-5", "12:30", "100%"]
    assert evidence_html("a <b> & 1") == 'a &lt;b&gt; &amp; <span class="num" dir="ltr">1</span>'


def test_part_1_prints_a_value_as_plain_text_only_where_its_element_changes_nothing() -> None:
    from triage.report.statement import figure_text, name_text

    # no right-to-left character: a name or path is plain text; one with Arabic script stays isolated
    assert name_text("/data/data/com.whatsapp/databases/msgstore.db", "path") == (
        "/data/data/com.whatsapp/databases/msgstore.db"
    )
    assert name_text("محمد") == "<bdi>محمد</bdi>" and name_text("Ali محمد <x>") == "<bdi>Ali محمد &lt;x&gt;</bdi>"
    assert name_text(None) == "" and name_text("a & b") == "a &amp; b"
    # a figure with no place a line could break, or a long one that may wrap anyway (a hash): plain text
    digest = "7c86752b28378bc2195d5ad6640bb12b2878f0092a7edccf1e725a5951bf9611"
    assert [str(figure_text(v)) for v in ("1715748044440", "message", "+447700900117", "12:30", digest)] == [
        "1715748044440",
        "message",
        "+447700900117",
        "12:30",
        digest,
    ]
    # a short figure a line could break (a space, a comma, a hyphen, a slash) stays on one line (class "num")
    for kept in ("2024-05-15 04:40:44 UTC", "51.009313, 2.121314", "1,791,081", "3,000.0/0", "a-b"):
        assert figure_text(kept) == f'<span class="ltr num" dir="ltr">{kept}</span>', kept
    # right-to-left text in a figure keeps its left-to-right isolate, whatever its length
    assert figure_text("١٢٣٤") == '<span class="ltr num" dir="ltr">١٢٣٤</span>'
    assert figure_text("ب" * 50) == f'<span class="ltr" dir="ltr">{"ب" * 50}</span>'
    assert figure_text(None) == "" and figure_text("") == ""


def test_an_account_and_a_contact_are_stated_as_stored() -> None:
    from triage.model.records import Account, Contact
    from triage.report.html import Card
    from triage.report.statement import Fact, what, when

    account = Account(app="telegram", identifier="+447700900456", display_name="Rebaz Hama")
    account.id = 1
    fact = Fact(("account", 1), Card(ref={"type": "account", "id": 1}, kind="record", record=account))
    stated = joined(re.sub(r"<[^>]+>", "", str(what(fact))))
    assert stated == "Account #1 (telegram) held on the device: identifier +447700900456, display name Rebaz Hama"
    assert str(when(fact)) == "the record has no time of its own"
    handles = [f"@h{n}" for n in range(7)]
    group = Contact(app="whatsapp", name="Family", handles=handles, extra={"peer_type": "group"})
    group.id = 4
    text = joined(
        re.sub(r"<[^>]+>", "", str(what(Fact(("contact", 4), Card({"type": "contact", "id": 4}, "record", group)))))
    )
    assert (
        text == "Contact #4 (whatsapp): name Family; handle(s) @h0, @h1, @h2, @h3, @h4 and 2 more; kind as stored group"
    )


def test_the_schedule_tells_of_special_procedure_material() -> None:
    from triage.report.tables import NOT_ASSESSED, may_undermine_or_assist

    note = may_undermine_or_assist("SPECIAL PROCEDURE", received_only=False)
    assert note.startswith("flagged SPECIAL PROCEDURE by its rule") and note.endswith(NOT_ASSESSED)
    assert "PACE ss.10-14" in note and "the prosecutor must be told" in note
    assert may_undermine_or_assist("LOW", received_only=False) == NOT_ASSESSED

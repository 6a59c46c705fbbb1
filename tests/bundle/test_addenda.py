"""Issue 15: declarations sealed in (`triage run --declarations`), signed addenda (`triage addendum`), the
translation round trip (`triage translations export|import`), and `triage verify --addendum` / `--json`.

Real runs of the demo phone, real XLIFF filled with translate-toolkit, real signatures, pdftotext."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bundle_factory import make_bundle, verify_cli
from tests.report_demo import CASE, DEMO_E01, EXAMINER, EXHIBIT, demo_bundle, read_jsonl
from triage.addenda.xliff import Xliff12
from triage.bundle.keys import init_key
from triage.cli import main
from triage.report.pdf import pdf_unavailable

DECLARATIONS = """\
name: Dana Ravensworth
role: Digital forensic examiner
organisation: Kent DFU
date: 2026-11-30
accreditation:
  status: accredited
  scope: UKAS 4471 FSA-DIG-100
fsr_code:
  compliant: false
  non_compliance:
    - requirement: Parser validation for Telegram 11.2
      risk: a field misread in a cited message
      mitigation: every cited Telegram row checked by hand
legal_power:
  basis: warrant
  details: Warrant 77/2026 Folkestone MC
extraction: logical extraction; handset in a Faraday bag, powered on, locked
officer_in_charge: DC Ilse Marwood
statement_of_truth: true
"""
VALUES_IN_PDF = (
    "Dana Ravensworth",
    "UKAS 4471 FSA-DIG-100",
    "Warrant 77/2026 Folkestone MC",
    "Parser validation for Telegram 11.2",
    "every cited Telegram row checked by hand",
    "2026-11-30",
    "DC Ilse Marwood",
    "Statement of truth",
)
TRANSLATED = {3: "Hello brother, the price per person is £2,500 to Britain"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory, evidence_guard) -> tuple[Path, Path, str]:
    """(bundle zip, signing key, its public key file) of the session's demo run."""
    out, key, _ = demo_bundle(tmp_path_factory, evidence_guard)
    return out.with_name(out.name + ".zip"), key, key.with_name("signing_key.pub.pem")


@pytest.fixture(scope="module")
def declared(tmp_path_factory, evidence_guard) -> Path:
    """The demo phone run with --declarations: the sealed bundle folder."""
    evidence_guard(DEMO_E01)
    base = tmp_path_factory.mktemp("declared")
    key, _ = init_key(base / "keys")
    (base / "declarations.yaml").write_text(DECLARATIONS, encoding="utf-8")
    out = base / EXHIBIT
    assert (
        main(
            [
                "run",
                str(DEMO_E01),
                "--out",
                str(out),
                "--quiet",
                "--case",
                CASE,
                "--exhibit",
                EXHIBIT,
                "--examiner",
                EXAMINER,
                "--signing-key",
                str(key),
                "--declarations",
                str(base / "declarations.yaml"),
            ]
        )
        == 0
    )
    return out


def pdftotext(pdf: Path) -> str:
    if pdf_unavailable() is not None or shutil.which("pdftotext") is None:
        pytest.skip("report.pdf or pdftotext is not available here")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(text.split())


def filled_xliff(demo_zip: Path, folder: Path, translations: dict[int, str]) -> Path:
    """Export the cited messages, then fill targets as a translator's tool would (translate-toolkit)."""
    exported = folder / "export.xlf"
    assert main(["translations", "export", str(demo_zip), "--out", str(exported)]) == 0
    store = Xliff12.parsestring(exported.read_bytes())
    for unit in store.unit_iter():
        if int(unit.xmlelement.get("id")) in translations:
            unit.target = translations[int(unit.xmlelement.get("id"))]
    filled = folder / "filled.xlf"
    filled.write_bytes(bytes(store))
    return filled


# -- declarations at the run ------------------------------------------------------------------------------


def test_declarations_are_inside_the_sealed_report_pdf(declared: Path) -> None:
    text = pdftotext(declared / "data" / "report.pdf")
    summary = text[: text.index("Full report")]
    # compared without spaces: pdftotext spaces words by their positions, and may widen a gap
    squeezed = "".join(summary.split())
    for value in VALUES_IN_PDF:
        assert "".join(value.split()) in squeezed, value
    assert "Declarations (to be completed by the examiner)" not in summary


def test_declarations_file_is_sealed_and_its_hash_recorded(declared: Path, capsys) -> None:
    digest = hashlib.sha256(DECLARATIONS.encode("utf-8")).hexdigest()
    assert (declared / "data" / "declarations.yaml").read_text(encoding="utf-8") == DECLARATIONS
    assert f"{digest}  data/declarations.yaml\n" in (declared / "manifest-sha256.txt").read_text()
    custody = read_jsonl(declared / "data" / "custody.jsonl")
    given = [e for e in custody if e["action"] == "declarations given"]
    assert len(given) == 1 and given[0]["details"]["sha256"] == digest
    assert given[0]["details"]["bundle_copy"] == "declarations.yaml"
    seal = next(e for e in custody if e["action"] == "seal")
    assert seal["details"]["reports"]["declarations.yaml"] == digest
    code, out = verify_cli(capsys, declared, "--trust", declared.parent / "keys" / "signing_key.pub.pem")
    assert code == 0 and out.splitlines()[-1] == "INTACT", out


def test_without_declarations_the_blank_form_waits_for_an_addendum(demo) -> None:
    text = pdftotext(demo[0].with_suffix("") / "data" / "report.pdf")
    assert "Declarations (to be completed by the examiner)" in text
    assert "to be completed by a signed addendum (triage addendum BUNDLE --declarations FILE)" in text


@pytest.mark.parametrize(
    "change, named",
    [
        (
            (
                "accreditation:\n  status: accredited\n  scope: UKAS 4471 FSA-DIG-100\n",
                "accreditation:\n  status: accredited\n",
            ),
            "field 'accreditation': 'scope' is required",
        ),
        (
            ("statement_of_truth: true\n", "statement_of_truth: true\nsignature: D.R.\n"),
            "field 'signature': unknown field",
        ),
        (
            ("officer_in_charge: DC Ilse Marwood\n", "officer_in_charge: DC Ilse Marwood\nname: Someone Else\n"),
            "field 'name' is given twice",
        ),
        (("date: 2026-11-30\n", "date: 30/11/2026\n"), "field 'date'"),
        (("statement_of_truth: true\n", "statement_of_truth: yes please\n"), "field 'statement_of_truth'"),
        (("legal_power:\n", "legal_power: [\n"), "not valid YAML"),
    ],
)
def test_bad_declarations_stop_the_run_before_anything_is_written(tmp_path: Path, capsys, change, named) -> None:
    bad = tmp_path / "declarations.yaml"
    bad.write_text(DECLARATIONS.replace(*change), encoding="utf-8")
    assert DECLARATIONS.replace(*change) != DECLARATIONS
    out = tmp_path / "run"
    code = main(["run", str(DEMO_E01), "--out", str(out), "--quiet", "--declarations", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and f"declarations {bad}" in err and named in err, err
    assert not out.exists() and not out.with_name("run.zip").exists()


# -- addenda: declarations later, translations round trip -------------------------------------------------


@pytest.fixture(scope="module")
def addenda(demo, tmp_path_factory) -> tuple[Path, Path]:
    """(translations addendum zip, declarations addendum zip) for the demo bundle, by the examiner's key."""
    demo_zip, key, _ = demo
    work = tmp_path_factory.mktemp("addenda")
    filled = filled_xliff(demo_zip, work, TRANSLATED)
    assert (
        main(
            [
                "translations",
                "import",
                str(demo_zip),
                str(filled),
                "--translator",
                "Rahel Tesfaye",
                "--date",
                "2026-12-01",
                "--key",
                str(key),
                "--out",
                str(work / "TRANSLATIONS"),
            ]
        )
        == 0
    )
    (work / "declarations.yaml").write_text(DECLARATIONS, encoding="utf-8")
    assert (
        main(
            [
                "addendum",
                str(demo_zip),
                "--declarations",
                str(work / "declarations.yaml"),
                "--key",
                str(key),
                "--out",
                str(work / "DECLARATIONS.zip"),
            ]
        )
        == 0
    )
    return work / "TRANSLATIONS.zip", work / "DECLARATIONS.zip"


def test_export_lists_cited_messages_with_ids_and_hashes(demo, tmp_path: Path) -> None:
    demo_zip = demo[0]
    messages = {m["id"]: m for m in read_jsonl(demo_zip.with_suffix("") / "data" / "records" / "message.jsonl")}
    findings = json.loads((demo_zip.with_suffix("") / "data" / "findings.json").read_text(encoding="utf-8"))
    cited = {ref["id"] for f in findings["findings"] for ref in f["evidence"] if ref["type"] == "message"}
    store = Xliff12.parsestring(filled_xliff(demo_zip, tmp_path, {}).read_bytes())
    units = {int(u.xmlelement.get("id")): u for u in store.unit_iter()}
    assert set(units) == {i for i in cited if messages[i]["body"]} and units
    for message_id, unit in units.items():
        body = messages[message_id]["body"]
        assert unit.source == body
        assert f"message-sha256: {hashlib.sha256(body.encode()).hexdigest()}" in unit.getnotes()
        assert f"records/message.jsonl id {message_id}" in unit.getnotes()


def test_round_trip_verifies_with_the_bundle(demo, addenda, capsys) -> None:
    demo_zip, _, public = demo
    code, out = verify_cli(capsys, demo_zip, "--trust", public, "--addendum", addenda[0], "--addendum", addenda[1])
    assert code == 0, out
    lines = out.splitlines()
    assert lines[-1] == "INTACT"
    for addendum in addenda:
        assert f"addendum {addendum}: INTACT" in lines
        assert any(line.startswith(f"addendum {addendum}: ok: names this bundle") for line in lines)
    code = main(["verify", str(demo_zip), "--trust", str(public), "--addendum", str(addenda[0]), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["verdict"] == "INTACT" and report["reasons"] == []
    assert report["signature"]["signed"] and report["signature"]["trusted"] and report["files_checked"] > 10
    assert [a["verdict"] for a in report["addenda"]] == ["INTACT"]
    assert report["addenda"][0]["addendum_to"]["Addendum-To-Tag-Manifest-SHA256"] == report["tag_manifest_sha256"]


def test_addendum_page_shows_each_translation_beside_its_original(demo, addenda) -> None:
    folder = addenda[0].with_suffix("")
    record = json.loads((folder / "data" / "addendum.json").read_text(encoding="utf-8"))
    unit = record["translations"]["units"][0]
    original = next(
        m for m in read_jsonl(demo[0].with_suffix("") / "data" / "records" / "message.jsonl") if m["id"] == 3
    )["body"]
    assert (unit["message_id"], unit["original"], unit["translation"]) == (3, original, TRANSLATED[3])
    assert record["translations"]["translator"] == "Rahel Tesfaye" and record["translations"]["date"] == "2026-12-01"
    page = (folder / "data" / "addendum.html").read_text(encoding="utf-8")
    row = page[page.index('<tr id="message-3">') :]
    row = row[: row.index("</tr>")]
    assert original in row and TRANSLATED[3].replace("£", "£") in row and "Rahel Tesfaye" in row
    assert "2026-12-01" in row and "http" not in page.lower().replace("http-equiv", "")


def test_one_byte_changed_in_the_addendum_is_altered(demo, addenda, tmp_path: Path, capsys) -> None:
    demo_zip, _, public = demo
    for rel in ("data/addendum.html", "data/translations.xlf", "bag-info.txt"):
        copy = tmp_path / rel.replace("/", "_") / "TRANSLATIONS"
        shutil.copytree(addenda[0].with_suffix(""), copy)
        data = bytearray((copy / rel).read_bytes())
        data[len(data) // 2] ^= 0x01
        (copy / rel).write_bytes(bytes(data))
        code, out = verify_cli(capsys, demo_zip, "--trust", public, "--addendum", copy)
        assert code == 1 and out.splitlines()[-1] == "ALTERED", out
        kind = "tag file" if "/" not in rel else "file"
        assert f"addendum {copy}: ALTERED: {kind} changed: {rel} (SHA-256 differs from the manifest)" in out


def test_addendum_of_another_bundle_is_refused(demo, addenda, tmp_path: Path, capsys) -> None:
    key = Ed25519PrivateKey.generate()
    other = make_bundle(tmp_path, key)
    code, out = verify_cli(capsys, other, "--addendum", addenda[0])
    assert code == 1, out
    assert (
        f"addendum {addenda[0]}: ALTERED: this addendum is not for this bundle: it names the bundle "
        f"{EXHIBIT} with tagmanifest-sha256.txt SHA-256"
    ) in out


def test_addendum_signed_by_a_key_it_brings_is_not_trusted(demo, tmp_path: Path, capsys) -> None:
    demo_zip, _, public = demo
    stranger, _ = init_key(tmp_path / "stranger")
    (tmp_path / "d.yaml").write_text(DECLARATIONS, encoding="utf-8")
    assert (
        main(
            [
                "addendum",
                str(demo_zip),
                "--declarations",
                str(tmp_path / "d.yaml"),
                "--key",
                str(stranger),
                "--out",
                str(tmp_path / "FORGED"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, out = verify_cli(capsys, demo_zip, "--trust", public, "--addendum", tmp_path / "FORGED.zip")
    assert code == 1 and f"addendum {tmp_path / 'FORGED.zip'}: ALTERED: signed by a key that is not trusted" in out


def test_translation_of_a_changed_or_unknown_message_is_refused(demo, tmp_path: Path, capsys) -> None:
    demo_zip, key, _ = demo
    filled = filled_xliff(demo_zip, tmp_path, TRANSLATED)
    good = hashlib.sha256(
        next(m for m in read_jsonl(demo_zip.with_suffix("") / "data" / "records" / "message.jsonl") if m["id"] == 3)[
            "body"
        ].encode()
    ).hexdigest()
    cases = {
        "changed": (
            filled.read_text(encoding="utf-8").replace(good, "0" * 64),
            f"unit 3: message hash does not match: the unit was made for a text with SHA-256 {'0' * 64}, "
            f"but message 3 in the bundle has SHA-256 {good}",
        ),
        "unknown": (
            filled.read_text(encoding="utf-8").replace('id="3"', 'id="999999"'),
            "unit 999999: the bundle has no message 999999 with text (unknown message)",
        ),
    }
    for name, (text, message) in cases.items():
        xlf = tmp_path / f"{name}.xlf"
        xlf.write_text(text, encoding="utf-8")
        capsys.readouterr()
        code = main(
            [
                "translations",
                "import",
                str(demo_zip),
                str(xlf),
                "--translator",
                "R. T.",
                "--key",
                str(key),
                "--out",
                str(tmp_path / name),
            ]
        )
        err = capsys.readouterr().err
        assert code == 2 and "refused, nothing sealed" in err and message in err, err
        assert not (tmp_path / name).exists() and not (tmp_path / f"{name}.zip").exists()


def test_export_leaves_out_messages_an_addendum_translates(demo, addenda, tmp_path: Path) -> None:
    demo_zip = demo[0]
    everything = Xliff12.parsestring(filled_xliff(demo_zip, tmp_path, {}).read_bytes())
    rest = tmp_path / "rest.xlf"
    assert main(["translations", "export", str(demo_zip), "--out", str(rest), "--addendum", str(addenda[0])]) == 0
    left = {int(u.xmlelement.get("id")) for u in Xliff12.parsestring(rest.read_bytes()).unit_iter()}
    assert left == {int(u.xmlelement.get("id")) for u in everything.unit_iter()} - set(TRANSLATED)

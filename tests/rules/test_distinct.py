"""PHN-01 (SIM cards and their countries) and PHN-02 (messaging identities): the `distinct` aggregate of
rules/distinct.py, the two rules' severities, and a real `triage run` over the parsed device-state fixture."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from rules.distinct import account_identity, distinct_met, sim_country
from rules.pack import load_pack
from rules.testing import run_pack
from triage.cli import main
from triage.model.records import Account, Device

ROOT = Path(__file__).parents[2]
DEVICE_STATE = ROOT / "fixtures" / "device_state"


def sim(**fields: object) -> Device:
    return Device(os_name="Android", extra={"sim": dict(fields)})


def fired(records: list[dict], rule_id: str) -> list[tuple[str, int]]:
    """(severity, number of cited records) of each finding of `rule_id`."""
    return [(f.severity, len(f.evidence)) for f in run_pack(load_pack(), records) if f.rule_id == rule_id]


def test_a_sims_country_comes_from_its_mcc_then_imsi_then_iccid() -> None:
    assert sim_country({"mcc_string": "234", "mcc": 208}) == ("GB", "MCC 234")  # the text column first
    assert sim_country({"mcc": 208, "mnc": 1}) == ("FR", "MCC 208")  # the first generation's integer
    assert sim_country({"mcc": 0, "imsi": "418200987654321"}) == ("IQ", "IMSI 418…")  # 0 is "not known"
    assert sim_country({"icc_id": "8990012345678901231"}) == ("TR", "ICCID 89900…")
    assert sim_country({"icc_id": "12345"}) is None


def test_sim_cards_are_counted_once_whichever_record_names_them() -> None:
    records = [
        sim(icc_id="8944110068412345675", mcc_string="234"),
        Device(extra={"ICCID": "8944110068412345675F"}),  # an iOS record of the same card, F-padded
        sim(icc_id="8933012345678901231", mcc_string="208"),
    ]
    assert distinct_met({"of": "sim_card", "min": 3}, records) is None
    summary, notes = distinct_met({"of": "sim_card", "min": 2}, records) or ([], {})
    assert summary == ["2 different SIM cards: 8933012345678901231, 8944110068412345675"]
    assert sorted(notes) == [0, 1, 2]


def test_a_telegram_account_is_one_identity_under_its_number_and_its_user_id() -> None:
    by_app = Account(app="telegram", identifier="+447911123456", display_name="Karwan @k [user:5012345678]")
    by_system = Account(app="telegram", identifier="user:5012345678")
    assert account_identity(by_app) == account_identity(by_system) == "user:5012345678"
    assert account_identity(Account(app="whatsapp", identifier="WhatsApp")) is None  # a label names no one
    assert account_identity(Account(app="whatsapp business", identifier="+33 6 12 34 56 78")) == "+33612345678"


def test_phn01_three_countries_is_medium_three_cards_of_one_country_low() -> None:
    countries = [
        {"type": "device", "extra": {"sim": {"icc_id": "8944110068412345675", "mcc_string": "234"}}},
        {"type": "device", "extra": {"sim": {"icc_id": "8933012345678901231", "mcc": 208}}},
        {"type": "device", "extra": {"sim": {"icc_id": "8996420001234567890", "imsi": "418200987654321"}}},
    ]
    assert fired(countries, "PHN-01") == [("MEDIUM", 3)]
    one_country = [
        {"type": "device", "extra": {"sim": {"icc_id": f"89441100684123456{n}", "mcc_string": "234"}}}
        for n in (75, 76, 77)
    ]
    assert fired(one_country, "PHN-01") == [("LOW", 3)]
    assert fired(one_country[:2], "PHN-01") == []
    # a device record without a SIM (build.prop) neither counts nor is cited
    assert fired([*countries, {"type": "device", "model": "SM-A536B"}], "PHN-01") == [("MEDIUM", 3)]


def test_phn02_different_numbers_medium_copies_alone_low() -> None:
    two_numbers = [
        {"type": "account", "app": "whatsapp", "identifier": "+447911123456"},
        {"type": "account", "app": "whatsapp business", "identifier": "+33612345678"},
        {"type": "account", "app": "com.google", "identifier": "someone@example.com"},  # not a messenger: not cited
    ]
    assert fired(two_numbers, "PHN-02") == [("MEDIUM", 2)]
    copies = [
        {
            "type": "device",
            "extra": {
                "installed_apps": {
                    "messaging": [
                        {"package": "org.telegram.messenger", "app": "telegram", "family": "telegram", "user": 0},
                        {"package": "org.thunderdog.challegram", "app": "telegram x", "family": "telegram", "user": 0},
                    ]
                }
            },
        }
    ]
    assert fired(copies, "PHN-02") == [("LOW", 1)]
    one_each = [
        {"type": "account", "app": "whatsapp", "identifier": "+447911123456"},
        {"type": "account", "app": "telegram", "identifier": "user:5012345678"},
    ]
    assert fired(one_each, "PHN-02") == []


@pytest.fixture(scope="module")
def device_state_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("device_state") / "out"
    with redirect_stdout(io.StringIO()):
        code = main(["run", str(DEVICE_STATE), "--out", str(out), "--case", "C-18", "--exhibit", "E-18", "--quiet"])
    assert code == 0
    return out / "data"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_run_over_the_parsed_device_state_raises_phn01_and_phn02(device_state_run: Path) -> None:
    findings = {f["rule_id"]: f for f in json.loads((device_state_run / "findings.json").read_text())["findings"]}
    assert sorted(findings) == ["PHN-01", "PHN-02"]
    phn01, phn02 = findings["PHN-01"], findings["PHN-02"]
    assert phn01["severity"] == "MEDIUM" and "3 SIM cards from different countries: FR, GB, IQ" in phn01["explanation"]
    assert "4 different SIM cards" in phn01["explanation"]
    assert [(e["type"], e["table"], e["row"]) for e in phn01["evidence"]] == [
        ("device", "siminfo", str(n)) for n in range(1, 5)
    ]
    assert phn02["severity"] == "MEDIUM"
    assert (
        "2 accounts with different numbers or user ids (telegram): user:5012345678, user:6023456789"
        in phn02["explanation"]
    )
    assert (
        "2 accounts with different numbers or user ids (whatsapp): +33612345678, +447911123456" in phn02["explanation"]
    )
    cited = {e["type"] for e in phn02["evidence"]}
    assert cited == {"account", "device"}  # the accounts (CE and DE databases) and the packages.list record


def test_the_run_exports_the_device_state_records(device_state_run: Path) -> None:
    devices = read_jsonl(device_state_run / "records" / "device.jsonl")
    accounts = read_jsonl(device_state_run / "records" / "account.jsonl")
    assert len(devices) == 5  # four SIMs and the installed apps
    assert len(accounts) == 10  # five accounts, in accounts_ce.db and in accounts_de.db
    installed = [d["extra"]["installed_apps"] for d in devices if "installed_apps" in d["extra"]]
    assert [m["package"] for m in installed[0]["messaging"]][1:3] == ["com.whatsapp", "com.whatsapp.w4b"]
    assert {(a["app"], a["identifier"]) for a in accounts} >= {
        ("telegram", "user:5012345678"),
        ("whatsapp", "+447911123456"),
    }
    counts = json.loads((device_state_run / "findings.json").read_text())["record_counts"]
    assert (counts["device"], counts["account"]) == (5, 10)

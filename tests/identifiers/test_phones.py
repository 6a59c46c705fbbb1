"""Phone-number reading (raw + E.164, never a silent default country) and party linking across sources."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest

from triage.enrich.parties import device_hints, link_parties
from triage.identifiers import phones
from triage.identifiers.phones import (
    REGIONS_OF_INTEREST,
    SHARED_CODE_TERRITORIES,
    Hint,
    read_number,
    region_of_iccid,
    region_of_locale,
    region_of_mcc,
)
from triage.model.records import Call, Contact, Device, Message
from triage.store import CaseStore


@pytest.mark.parametrize(
    "raw, e164, region",
    [
        ("+44 7400 123456", "+447400123456", "GB"),
        ("0033 6 12 34 56 78", "+33612345678", "FR"),
        ("(+964) 750-123-4567", "+9647501234567", "IQ"),
        ("447400123456@s.whatsapp.net", "+447400123456", "GB"),
        ("447400123456.0:12@s.whatsapp.net", "+447400123456", "GB"),
    ],
)
def test_international_forms_need_no_hint(raw: str, e164: str, region: str) -> None:
    reading = read_number(raw)
    assert (reading.e164, reading.region, reading.ambiguous) == (e164, region, False)
    assert reading.raw == raw


@pytest.mark.parametrize(
    "raw, candidates",
    [
        ("07501234567", ("+447501234567 (GB)", "+9647501234567 (IQ)")),  # UK mobile and Iraqi Korek
        ("07712345678", ("+447712345678 (GB)", "+9647712345678 (IQ)")),  # UK mobile and Iraqi Asiacell
    ],
)
def test_national_number_without_hint_gets_no_country(raw: str, candidates: tuple[str, ...]) -> None:
    reading = read_number(raw)
    assert reading.e164 is None and reading.region is None
    assert reading.ambiguous and reading.candidates == candidates
    assert reading.basis == "no country hint in the evidence"
    assert reading.key == "national:" + raw[1:]


def test_french_dutch_06_is_ambiguous() -> None:
    reading = read_number("06 12 34 56 78")
    assert {"+33612345678 (FR)", "+31612345678 (NL)"} <= set(reading.candidates)
    assert reading.ambiguous and reading.e164 is None


def test_hint_resolves_but_keeps_the_ambiguity_visible() -> None:
    uk = read_number("07501234567", [Hint("GB", "SIM country from ICCID 894411…")])
    iraq = read_number("07501234567", [Hint("IQ", "SIM country from MCC 418")])
    assert (uk.e164, uk.basis) == ("+447501234567", "SIM country from ICCID 894411…")
    assert (iraq.e164, iraq.basis) == ("+9647501234567", "SIM country from MCC 418")
    assert uk.ambiguous and iraq.ambiguous


def test_hint_that_does_not_fit_is_not_forced() -> None:
    reading = read_number("07501234567", [Hint("FR", "device locale fr-FR")])
    assert reading.e164 is None and "not valid in the hinted countries (FR)" in reading.basis


@pytest.mark.parametrize(
    "raw, kind",
    [
        ("VODAFONE", "alphanumeric"),
        ("3311", "short-code"),
        ("120363025246125486@g.us", "group"),
        ("someone@example.com", "not-a-number"),
        ("123456789012345@lid", "not-a-number"),
        ("status@broadcast", "group"),
    ],
)
def test_non_numbers_are_classified_not_normalised(raw: str, kind: str) -> None:
    reading = read_number(raw)
    assert reading.kind == kind and reading.e164 is None


def test_country_from_device_facts() -> None:
    assert region_of_iccid("8944110068123456789") == "GB"
    assert region_of_iccid("8996400012345678901") == "IQ"
    assert region_of_iccid("8933150012345678901") == "FR"
    assert region_of_iccid("1234") is None
    assert (region_of_mcc("234"), region_of_mcc("208"), region_of_mcc("418"), region_of_mcc("999")) == (
        "GB",
        "FR",
        "IQ",
        None,
    )
    assert (region_of_locale("en-GB"), region_of_locale("ar_IQ"), region_of_locale("en")) == ("GB", "IQ", None)


def test_device_hints_are_ordered_sim_first() -> None:
    device = Device(extra={"ro.product.locale": "fr-FR", "sims": [{"icc_id": "8944110068123456789"}]})
    hints = device_hints([device])
    assert [h.region for h in hints] == ["GB", "FR"]
    assert hints[0].basis.startswith("SIM country from ICCID 894411")


def _store_with(records: list) -> CaseStore:
    store = CaseStore("sqlite://")
    for record in records:
        store.add(record)
    store.flush()
    return store


def test_one_person_linked_across_contacts_sms_whatsapp_and_calls() -> None:
    store = _store_with(
        [
            Contact(app="contacts", name="Karwan", phone_numbers=["+964 750 123 4567", "07501234567"]),
            Message(
                app="sms",
                thread="1",
                direction="incoming",
                counterpart="07501234567",
                sender="07501234567",
                body="x",
                time_utc=None,
                time_raw=None,
                time_encoding="unix_ms",
            ),
            Message(
                app="whatsapp",
                thread="9647501234567@s.whatsapp.net",
                direction="incoming",
                counterpart="9647501234567@s.whatsapp.net",
                sender=None,
                body="y",
                time_utc=None,
                time_raw=None,
                time_encoding="unix_ms",
            ),
            Call(
                app="phone",
                direction="missed",
                counterpart="+9647501234567",
                time_utc=None,
                time_raw=None,
                time_encoding="unix_ms",
            ),
            Message(
                app="sms",
                thread="2",
                direction="incoming",
                counterpart="0612345678",
                sender=None,
                body="z",
                time_utc=None,
                time_raw=None,
                time_encoding="unix_ms",
            ),
        ]
    )
    parties = {p.key: p for p in link_parties(store.all)}
    assert set(parties) == {"+9647501234567", "national:612345678"}
    karwan = parties["+9647501234567"]
    assert karwan.names == ["Karwan"] and karwan.apps == ["contacts", "phone", "sms", "whatsapp"]
    assert karwan.raw_forms == sorted(
        ["+964 750 123 4567", "07501234567", "9647501234567@s.whatsapp.net", "+9647501234567"]
    )
    assert {(r["type"], r["field"]) for r in karwan.refs} == {
        ("contact", "phone_numbers"),
        ("message", "counterpart"),
        ("call", "counterpart"),
    }  # sender = counterpart: once
    assert karwan.ambiguous  # the national form fits the UK too; the evidence resolved it, and says how
    assert "07501234567" in karwan.basis
    stranger = parties["national:612345678"]
    assert stranger.e164 is None and stranger.ambiguous and "+33612345678 (FR)" in stranger.candidates


def test_call_log_country_resolves_a_national_number() -> None:
    store = _store_with(
        [
            Call(
                app="phone",
                direction="incoming",
                counterpart="0612345678",
                time_utc=None,
                time_raw=None,
                time_encoding="unix_ms",
                extra={"countryiso": "NL"},
            )
        ]
    )
    (party,) = link_parties(store.all)
    assert (party.e164, party.region, party.basis) == ("+31612345678", "NL", "call log country (countryiso=NL)")
    assert party.ambiguous  # FR reads it too: the resolution is the phone's, and it is shown as such


def _national_inputs(region: str, rng: random.Random) -> list[str]:
    """Digit strings a phone may store for numbers of `region`: its example numbers of every type in national
    format, with its country code in front (with and without the national number's prefix), each with its last
    digit changed, and random strings starting as national numbers often do."""
    code = str(phonenumbers.country_code_for_region(region))
    out: set[str] = set()
    for kind in phonenumbers.PhoneNumberType.values():
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        national = re.sub(r"\D", "", phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL))
        significant = phonenumbers.national_significant_number(example)
        for digits in (national, code + national, code + significant, significant):
            out.update((digits, digits[:-1] + str((int(digits[-1]) + 3) % 10)))
    for _ in range(40):
        start = rng.choice(["0", "00", code, "1", "7", "9", ""])
        out.add(start + "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 12))))
    return sorted(d for d in out if len(d) > 6 and not d.startswith("00"))


def test_the_national_shortcut_never_rules_out_a_region_where_the_number_is_valid() -> None:
    """phones._may_be_valid_in skips libphonenumber's parse for a region only where the parse could not give a
    valid number of that region: checked for every region libphonenumber knows on its own numbers (and for the
    regions of interest on every region's numbers) against parsing each one."""
    rng = random.Random(20261207)
    inputs = {region: _national_inputs(region, rng) for region in sorted(phonenumbers.SUPPORTED_REGIONS)}
    pairs = [(digits, region) for region, numbers in inputs.items() for digits in numbers]
    every = sorted({digits for numbers in inputs.values() for digits in numbers})
    pairs += [(digits, region) for region in REGIONS_OF_INTEREST + SHARED_CODE_TERRITORIES for digits in every]
    valid = skipped = 0
    for digits, region in pairs:
        try:
            number = phonenumbers.parse(digits, region)
            fits = phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == region
        except phonenumbers.NumberParseException:
            fits = False
        shortcut = phones._may_be_valid_in(digits, region)
        assert shortcut or not fits, (digits, region)
        valid += fits
        skipped += not shortcut
    assert valid > 2000 and skipped > len(pairs) // 2  # both kinds well covered


def test_the_national_shortcut_rules_out_by_length_and_pattern() -> None:
    assert not phones._may_be_valid_in("07911123456", "FR")  # 11 or 10 digits: French numbers have 9
    assert phones._may_be_valid_in("0612345678", "FR") and phones._may_be_valid_in("07911123456", "GB")
    assert phones._may_be_valid_in("447911123456", "GB")  # its country code in front, no "+"
    assert phones._may_be_valid_in("٠٧٩١١١٢٣٤٥٦", "GB")  # Arabic-Indic digits: always parsed

"""Phone numbers: the raw string as stored, and E.164 only when the evidence says which country.

A national-format number such as `07501234567` is a valid UK mobile *and* a valid Iraqi one;
`0612345678` is French and Dutch. Guessing a default country would silently attribute a number to the
wrong person, so a national number gets an E.164 form only from a hint found in the evidence (the SIM's
country, the network's, the device locale, the same contact's other numbers), the hint is named in
`basis`, and a number valid in several regions of interest stays marked `ambiguous` with every candidate.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

# Regions of the Channel-crossing routes (origin, transit, destination): a national number valid in more
# than one of them is ambiguous (docs/domain/phone_numbers.md "Regions of interest").
REGIONS_OF_INTEREST = (
    "GB",
    "FR",
    "BE",
    "NL",
    "DE",
    "IQ",
    "IR",
    "TR",
    "AL",
    "AF",
    "VN",
    "SY",
    "ER",
    "SD",
    "ET",
    "SO",
    "EG",
    "PK",
    "YE",
    "KW",
)

SHARED_CODE_TERRITORIES = ("GG", "JE", "IM")  # +44 numbers that libphonenumber places outside GB itself
MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
WHATSAPP_USER = re.compile(r"^(\d{6,15})(?:\.\d+)?(?::\d+)?@(?:s\.whatsapp\.net|c\.us)$")  # device suffixes dropped
SEPARATORS = re.compile(r"[\s().\-/\u00a0\u200e\u200f\u202a-\u202e]")


@dataclass(frozen=True)
class Hint:
    """A country suggested by the evidence, with what suggested it."""

    region: str  # ISO 3166 alpha-2, e.g. "GB"
    basis: str  # e.g. "SIM country (ICCID 8944…)", "device locale en-GB"


@dataclass(frozen=True)
class NumberReading:
    """What one stored phone number string means."""

    raw: str
    kind: str  # "number", "whatsapp-jid", "short-code", "alphanumeric", "group", "not-a-number"
    e164: str | None = None
    region: str | None = None
    basis: str | None = None  # why the country is known: "international format", a Hint's basis …
    ambiguous: bool = False
    candidates: tuple[str, ...] = field(default=())  # "+44 … (GB)" style E.164 candidates, sorted
    national_digits: str | None = None  # for linking national numbers that could not be resolved

    @property
    def key(self) -> str | None:
        """What identifies the party: E.164 when known, else the national digits."""
        if self.e164:
            return self.e164
        return f"national:{self.national_digits}" if self.national_digits else None


def read_number(raw: str | None, hints: list[Hint] | tuple[Hint, ...] = ()) -> NumberReading | None:
    """Interpret one stored number; None for empty input."""
    if raw is None or not str(raw).strip():
        return None
    raw = str(raw).strip()
    if "@" in raw:
        return _read_address(raw)
    cleaned = SEPARATORS.sub("", raw)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    digits = cleaned.lstrip("+")
    if not digits.isdigit():
        return NumberReading(raw, "alphanumeric" if any(c.isalpha() for c in raw) else "not-a-number")
    if not cleaned.startswith("+") and len(digits) <= 6:
        return NumberReading(raw, "short-code", national_digits=digits)
    if cleaned.startswith("+"):
        return _international(raw, cleaned, "international format")
    return _national(raw, cleaned, list(hints))


def _read_address(raw: str) -> NumberReading:
    match = WHATSAPP_USER.match(raw)
    if match:
        reading = _international(raw, "+" + match.group(1), "WhatsApp JID (always international)")
        return NumberReading(**{**reading.__dict__, "kind": "whatsapp-jid"})
    if raw.endswith("@g.us") or raw.endswith("@broadcast"):
        return NumberReading(raw, "group")
    return NumberReading(raw, "not-a-number")  # e-mail handles, @lid identifiers that hide the number


def _international(raw: str, cleaned: str, basis: str) -> NumberReading:
    parsed = _parse_international(cleaned)
    if parsed is None:
        return NumberReading(raw, "not-a-number")
    e164, region, valid = parsed
    if not valid:
        basis += "; not a valid number for its country code"
    return NumberReading(raw, "number", e164, region, basis)


# A phone names a few thousand numbers, each in many records and with different hints: libphonenumber's
# parse (~50 µs, once per region tried) runs once per number, not once per record (issue 14).
@functools.lru_cache(maxsize=1 << 16)
def _parse_international(cleaned: str) -> tuple[str, str, bool] | None:
    """(E.164, region, valid for its country code), or None when libphonenumber cannot parse it."""
    try:
        number = phonenumbers.parse(cleaned, None)
    except NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    # a parsed number always has its country code; `or 0` ("ZZ", unknown) only satisfies the Optional type
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code or 0
    )
    return e164, region, phonenumbers.is_valid_number(number)


def _national(raw: str, cleaned: str, hints: list[Hint]) -> NumberReading:
    candidates = _valid_in(cleaned, [*REGIONS_OF_INTEREST, *(h.region for h in hints), *SHARED_CODE_TERRITORIES])
    distinct = {e164 for e164, _ in candidates}
    listed = tuple(sorted(f"{e164} ({region})" for e164, region in candidates))
    national = cleaned.lstrip("0") or cleaned
    for hint in hints:
        # a hint names a country; numbers of territories sharing its calling code (GB: GG, JE, IM) fit it too
        code = phonenumbers.country_code_for_region(hint.region)
        chosen = next((c for c in candidates if c[1] == hint.region), None) or next(
            (c for c in candidates if code and phonenumbers.country_code_for_region(c[1]) == code), None
        )
        if chosen:
            return NumberReading(raw, "number", chosen[0], chosen[1], hint.basis, len(distinct) > 1, listed, national)
    basis = (
        "no country hint in the evidence"
        if not hints
        else f"not valid in the hinted countries ({', '.join(h.region for h in hints)})"
    )
    return NumberReading(raw, "number", None, None, basis, len(distinct) > 1, listed, national)


def _valid_in(cleaned: str, regions: list[str]) -> list[tuple[str, str]]:
    """(E.164, region) for every region in which the national number is valid (deduplicated, ordered).

    When the number is a mobile number somewhere, only the mobile readings count: German and Vietnamese
    landline plans accept almost any digit string, and a phone seized at the coast holds mobile numbers.
    """
    found = [r for r in (_reading_in(cleaned, region) for region in dict.fromkeys(regions)) if r is not None]
    if any(mobile for *_, mobile in found):
        found = [f for f in found if f[2]]
    return [(e164, region) for e164, region, _ in found]


@functools.lru_cache(maxsize=1 << 18)  # (number, region) pairs: the regions of interest for a few thousand numbers
def _reading_in(cleaned: str, region: str) -> tuple[str, str, bool] | None:
    """(E.164, region, mobile) when the national number is valid in `region`, else None."""
    if not _may_be_valid_in(cleaned, region):
        return None
    try:
        number = phonenumbers.parse(cleaned, region)
    except NumberParseException:
        return None
    if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == region:
        return (
            phonenumbers.format_number(number, PhoneNumberFormat.E164),
            region,
            phonenumbers.number_type(number) in MOBILE_TYPES,
        )
    return None


@dataclass(frozen=True)
class _NationalPlan:
    """What libphonenumber's parse can make of a national number in one region: the national prefix and the
    country code it may strip from the front, and what a valid national significant number looks like."""

    international_prefix: Callable[[str], Any] | None  # a number starting with it is read as international
    national_prefix: Callable[[str], Any] | None
    rewrites: bool  # a transform rule rewrites the number when the prefix's last group takes part (GG, JE, IM)
    country_code: str
    lengths: frozenset[int]  # empty: any length
    pattern: Callable[[str], Any]


@functools.cache
def _national_plan(region: str) -> _NationalPlan | None:
    """The region's plan, or None where its metadata lacks a general pattern."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.general_desc is None:
        return None
    general = metadata.general_desc
    if not general.national_number_pattern:
        return None
    return _NationalPlan(
        re.compile(metadata.international_prefix).match if metadata.international_prefix else None,
        re.compile(metadata.national_prefix_for_parsing).match if metadata.national_prefix_for_parsing else None,
        bool(metadata.national_prefix_transform_rule),
        str(metadata.country_code),
        frozenset(general.possible_length),
        re.compile(general.national_number_pattern).fullmatch,
    )


def _may_be_valid_in(cleaned: str, region: str) -> bool:
    """False only when libphonenumber cannot find `cleaned` (ASCII digits, no "+") valid in `region`, told
    without parsing it (~17 µs a region, 23 regions a number: most of the parties pass, issue 14).

    Parsing a national number keeps a tail of its digits as the national significant number: all of them, or
    what follows the country code and/or the national prefix when they lead, unless the region's transform
    rule rewrites it. A valid number's tail has one of the region's lengths and matches its general pattern,
    so when none of those (at most four) tails does, parse would find it invalid. A number starting with the
    region's international prefix, one the transform rule would rewrite, a region without a plan, or other
    digits than ASCII: parse decides."""
    plan = _national_plan(region)
    if plan is None or not (cleaned.isascii() and cleaned.isdigit()):
        return True
    if plan.international_prefix is not None and plan.international_prefix(cleaned):
        return True
    bases = [cleaned, cleaned[len(plan.country_code) :]] if cleaned.startswith(plan.country_code) else [cleaned]
    for base in bases:
        tails = [base]
        found = plan.national_prefix(base) if plan.national_prefix is not None else None
        if found and plan.rewrites and found.groups() and found.groups()[-1] is not None:
            return True
        if found:
            tails.append(base[found.end() :])
        for tail in tails:
            if (not plan.lengths or len(tail) in plan.lengths) and plan.pattern(tail):
                return True
    return False


# -- hints from device facts -------------------------------------------------------------------------
def region_of_iccid(iccid: str) -> str | None:
    """ICCIDs start 89 + the country calling code (ITU-T E.118): 8944… is the UK, 89964… Iraq."""
    digits = re.sub(r"\D", "", iccid)
    if not digits.startswith("89"):
        return None
    for length in (1, 2, 3):
        code = digits[2 : 2 + length]
        if code and code[0] != "0":
            region = phonenumbers.region_code_for_country_code(int(code))
            if region not in ("ZZ", "001"):
                return region
    return None


def region_of_mcc(mcc: str) -> str | None:
    """The country of a mobile country code (E.212), e.g. 234 → GB, 418 → IQ."""
    import mobile_codes

    try:
        countries = mobile_codes.mcc(str(mcc).strip()[:3])
    except KeyError:
        return None
    # Several territories share an MCC (234: GB, GG, IM, JE); the one whose own MCC list holds it leads.
    main = [c for c in countries if isinstance(c.mcc, list)]
    return (main or countries or [None])[0].alpha2 if countries else None


def region_of_locale(locale: str) -> str | None:
    """`en-GB`, `fr_FR`, `ar-IQ` → the region part; None when the locale names no region."""
    match = re.search(r"[-_]([A-Za-z]{2})(?:$|[-_@.])", locale.strip())
    return match.group(1).upper() if match else None

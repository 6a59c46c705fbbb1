"""Payment identifiers in free text, each validated by a well-kept library.

The formats, checks and test vectors: docs/formats/payments.md "Identifier validation".

`find_identifiers(text)` returns only identifiers that pass their check; a candidate whose checksum
fails is dropped (it is a typo, a phone number or noise, and cannot be cited as an account).
Each hit names the evidence of its check ("IBAN mod-97 ok …", "format only …") so a reader knows
how strong it is:

| kind        | check                                                                             |
|-------------|-----------------------------------------------------------------------------------|
| iban        | schwifty: country length, BBAN format, ISO 7064 mod-97 (+ national check digits)   |
| card        | python-stdnum Luhn + issuer prefix and length (Visa, Mastercard, Amex …)           |
| btc         | base58check (`base58`, version 0x00/0x05) or BIP-173/350 bech32/bech32m (`bech32m`)|
| eth         | EIP-55 mixed-case checksum with Keccak-256 (pycryptodome); one-case = format only  |
| tron        | base58check with version byte 0x41 (`base58`)                                      |
| uk_account  | sort code + 8-digit account: FORMAT ONLY (Vocalink modulus tables not shipped)     |
| mtcn        | Western Union 10 digits, only next to a Western Union keyword: format only         |
| moneygram   | MoneyGram reference 8 digits, only next to a MoneyGram keyword: format only        |
| paypal, revolut, wise | pay-link handles (paypal.me/…, revolut.me/…, wise.com/pay/me/…): format only |

Eastern Arabic and Persian digits are read as ASCII digits (one character for one, so offsets into
the original text stay exact).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import base58
from bech32m import DecodeError
from bech32m import decode as segwit_decode
from Crypto.Hash import keccak
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import luhn

DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def ascii_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as ASCII, one character for one (offsets unchanged)."""
    return text.translate(DIGITS)


@dataclass(frozen=True)
class Identifier:
    kind: str  # iban, card, btc, eth, tron, uk_account, mtcn, moneygram, paypal, revolut, wise
    value: str  # normalised form (IBAN compact upper case, card digits, address as checked …)
    raw: str  # as written in the text
    start: int
    end: int
    evidence: str  # what was checked and how ("IBAN mod-97 ok, GB length 22 ok")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    evidence: str
    value: str = ""


# -- validators (one per kind; usable on their own, e.g. on structured app data) -------------------


def check_iban(candidate: str) -> Verdict:
    compact = re.sub(r"\s", "", candidate).upper()
    try:
        iban = IBAN(compact, allow_invalid=True)
        iban.validate()
    except SchwiftyException as e:
        return Verdict(False, f"IBAN rejected: {e}", compact)
    note = f"IBAN mod-97 ok, {iban.country_code} length {len(compact)} ok, BBAN format ok"
    with warnings.catch_warnings(record=True) as caught:  # countries without a national algorithm warn
        warnings.simplefilter("always")
        try:
            iban.validate(validate_bban=True)
        except SchwiftyException as e:
            return Verdict(False, f"IBAN national check digits wrong: {e}", compact)
    if caught:
        note += "; national check digits not verified (no algorithm for this country)"
    else:
        note += (
            "; national check digits ok"
            if iban.national_checksum_digits
            else f"; {iban.country_code} BBAN has no separate national check digits"
        )
    return Verdict(True, note, compact)


# issuer prefixes (ISO/IEC 7812 IIN ranges as published by the networks) and allowed lengths
CARD_BRANDS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("Visa", ((4, 4),), (16, 19)),
    ("Mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("American Express", ((34, 34), (37, 37)), (15,)),
    ("Discover", ((6011, 6011), (644, 649), (65, 65)), (16, 17, 18, 19)),
    ("JCB", ((3528, 3589),), (16, 17, 18, 19)),
    ("UnionPay", ((62, 62),), (16, 17, 18, 19)),
    ("Diners Club", ((300, 305), (36, 36), (38, 39)), (14, 16)),
)


def card_brand(pan: str) -> str | None:
    for brand, ranges, lengths in CARD_BRANDS:
        if len(pan) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(pan[:width]) <= high:
                return brand
    return None


def check_card(candidate: str) -> Verdict:
    pan = re.sub(r"[\s-]", "", candidate)
    if not pan.isdigit():
        return Verdict(False, "card: not digits", pan)
    brand = card_brand(pan)
    if brand is None:
        return Verdict(False, "card: no issuer prefix of that length", pan)
    if not luhn.is_valid(pan):
        return Verdict(False, "card: Luhn check failed", pan)
    return Verdict(True, f"card Luhn ok, {brand} prefix and length {len(pan)} ok", pan)


def mask_card(pan: str) -> str:
    """First 6 and last 4 digits kept (the PCI DSS display rule); the rest starred."""
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:] if len(pan) > 10 else pan


def check_btc(candidate: str) -> Verdict:
    if candidate[:3].lower() == "bc1":
        try:
            witver, program = segwit_decode("bc", candidate)
        except DecodeError:
            return Verdict(False, "bitcoin bech32/bech32m checksum or program rejected", candidate)
        scheme = "bech32 (BIP-173)" if witver == 0 else "bech32m (BIP-350)"
        return Verdict(
            True, f"bitcoin {scheme} checksum ok, witness v{witver}, {len(program)}-byte program", candidate.lower()
        )
    try:
        payload = base58.b58decode_check(candidate)
    except ValueError:
        return Verdict(False, "bitcoin base58check checksum failed", candidate)
    if len(payload) != 21 or payload[0] not in (0x00, 0x05):
        return Verdict(False, "bitcoin base58check ok but not a mainnet P2PKH/P2SH version", candidate)
    kind = "P2PKH" if payload[0] == 0 else "P2SH"
    return Verdict(True, f"bitcoin base58check ok, version 0x{payload[0]:02x} ({kind})", candidate)


def keccak256_hex(data: bytes) -> str:
    return keccak.new(digest_bits=256, data=data).hexdigest()


def check_eth(candidate: str) -> Verdict:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", candidate):
        return Verdict(False, "ethereum: not 0x + 40 hex digits", candidate)
    body = candidate[2:]
    if body == body.lower() or body == body.upper():
        return Verdict(
            True, "ethereum format ok; one-case address carries no EIP-55 checksum (format only)", "0x" + body.lower()
        )
    digest = keccak256_hex(body.lower().encode("ascii"))
    expected = "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c.lower() for i, c in enumerate(body.lower())
    )
    if expected != body:
        return Verdict(False, "ethereum EIP-55 checksum failed", candidate)
    return Verdict(True, "ethereum EIP-55 checksum ok (Keccak-256)", candidate)


def check_tron(candidate: str) -> Verdict:
    try:
        payload = base58.b58decode_check(candidate)
    except ValueError:
        return Verdict(False, "tron base58check checksum failed", candidate)
    if len(payload) != 21 or payload[0] != 0x41:
        return Verdict(False, "tron base58check ok but version byte is not 0x41", candidate)
    return Verdict(True, "tron base58check ok, version 0x41", candidate)


# -- finding them in text --------------------------------------------------------------------------

_B58 = "1-9A-HJ-NP-Za-km-z"
IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2}\d{2})(?=[ ]?[A-Za-z0-9])")
CARD = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)")
BTC = re.compile(
    rf"(?<![{_B58}])[13][{_B58}]{{25,34}}(?![{_B58}])"
    r"|(?<![A-Za-z0-9])(?:bc1|BC1)[02-9AC-HJ-NP-Zac-hj-np-z]{6,87}(?![A-Za-z0-9])"
)
ETH = re.compile(r"(?<![A-Za-z0-9])0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")
TRON = re.compile(rf"(?<![{_B58}])T[{_B58}]{{33}}(?![{_B58}])")
MTCN = re.compile(r"(?<!\d)\d{3}[- ]?\d{3}[- ]?\d{4}(?!\d)")
MONEYGRAM_REF = re.compile(r"(?<!\d)\d{4}[- ]?\d{4}(?!\d)")
SORT_CODE = re.compile(r"(?<![\d-])(\d{2})([- ]?)(\d{2})\2(\d{2})(?![\d-])")
ACCOUNT = re.compile(r"(?<![\d-])\d{8}(?![\d-])")
HANDLES = (
    (
        "paypal",
        re.compile(r"(?i)(?<![\w.])(?:https?://)?(?:www\.)?(paypal\.me|paypal\.com/paypalme)/([A-Za-z0-9]{1,20})\b"),
    ),
    ("revolut", re.compile(r"(?i)(?<![\w.])(?:https?://)?(revolut\.me)/([A-Za-z0-9._-]{3,32})\b")),
    ("wise", re.compile(r"(?i)(?<![\w.])(?:https?://)?(?:www\.)?(wise\.com/pay/me)/([A-Za-z0-9._-]{2,40})\b")),
)
# keywords that must stand near a transfer code (English, French, Albanian, Arabic, Farsi, Sorani, Vietnamese)
WU_WORDS = re.compile(r"(?i)\bmtcn\b|western\s*union|\bwestern\b|\bWU\b|ويسترن|وسترن|ویسترن|وێسترن|وێستەرن")
MG_WORDS = re.compile(r"(?i)money\s*gram|موني\s*غرام|مني\s*غرام|مانی\s*گرام|مەنی\s*گرام|مونی\s*گرام")
SORT_WORDS = re.compile(r"(?i)sort\s*code|sortcode|\bs/c\b|\bsc\b")
KEYWORD_WINDOW = 60  # characters between a keyword and the code it vouches for


def find_identifiers(text: str) -> list[Identifier]:
    """Validated identifiers in text, in order of position; overlapping weaker readings are dropped."""
    if not text:
        return []
    plain = ascii_digits(text)
    found: list[Identifier] = []
    for finder in (_ibans, _cards, _cryptos, _uk_accounts, _transfer_codes, _handles):
        for ident in finder(plain, text):
            if not any(ident.start < f.end and f.start < ident.end for f in found):
                found.append(ident)
    return sorted(found, key=lambda i: (i.start, i.end))


def _ibans(plain: str, text: str) -> list[Identifier]:
    from schwifty import registry

    out = []
    for m in IBAN_START.finditer(plain):
        try:
            length = registry.get_iban_spec(m.group(1)[:2].upper()).iban_length
        except (KeyError, SchwiftyException):
            continue
        end, taken = _take_alnum(plain, m.start(), length)
        if taken != length:
            continue
        verdict = check_iban(plain[m.start() : end])
        if verdict.ok:
            out.append(Identifier("iban", verdict.value, text[m.start() : end], m.start(), end, verdict.evidence))
    return out


def _take_alnum(text: str, start: int, count: int) -> tuple[int, int]:
    """Position after `count` letters/digits from start, allowing single spaces between them."""
    i, taken = start, 0
    while i < len(text) and taken < count:
        if text[i].isascii() and text[i].isalnum():
            taken += 1
            i += 1
        elif text[i] == " " and i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum() and taken:
            i += 1
        else:
            break
    if i < len(text) and text[i].isascii() and text[i].isalnum():
        return i, -1  # runs on: not an IBAN of this length
    return i, taken


def _cards(plain: str, text: str) -> list[Identifier]:
    out = []
    for m in CARD.finditer(plain):
        verdict = check_card(m.group())
        if verdict.ok:
            out.append(
                Identifier("card", verdict.value, text[m.start() : m.end()], m.start(), m.end(), verdict.evidence)
            )
    return out


def _cryptos(plain: str, text: str) -> list[Identifier]:
    out = []
    for kind, pattern, check in (("btc", BTC, check_btc), ("eth", ETH, check_eth), ("tron", TRON, check_tron)):
        for m in pattern.finditer(plain):
            verdict = check(m.group())
            if verdict.ok:
                out.append(
                    Identifier(kind, verdict.value, text[m.start() : m.end()], m.start(), m.end(), verdict.evidence)
                )
    return out


def _uk_accounts(plain: str, text: str) -> list[Identifier]:
    out = []
    for m in SORT_CODE.finditer(plain):
        keyword = SORT_WORDS.search(plain, max(0, m.start() - 25), m.start())
        if m.group(2) != "-" and not keyword:
            continue  # "12 34 56" or "123456" is a sort code only when it is called one
        account = _nearest(ACCOUNT, plain, m.start(), m.end(), 40)
        if account is None:
            continue
        sort_code = f"{m.group(1)}-{m.group(3)}-{m.group(4)}"
        start, end = min(m.start(), account.start()), max(m.end(), account.end())
        out.append(
            Identifier(
                "uk_account",
                f"{sort_code} {account.group()}",
                text[start:end],
                start,
                end,
                "format only: sort code 6 digits + account 8 digits; Vocalink modulus check not run "
                "(weight tables not shipped)",
            )
        )
    return out


def _nearest(pattern: re.Pattern[str], text: str, start: int, end: int, window: int) -> re.Match[str] | None:
    """The match of pattern closest to [start, end) within window characters, outside that span."""
    best, best_gap = None, window + 1
    for m in pattern.finditer(text, max(0, start - window), min(len(text), end + window)):
        if m.start() < end and start < m.end():
            continue
        gap = m.start() - end if m.start() >= end else start - m.end()
        if gap < best_gap:
            best, best_gap = m, gap
    return best


def _transfer_codes(plain: str, text: str) -> list[Identifier]:
    out = []
    for kind, pattern, words, digits, label in (
        ("mtcn", MTCN, WU_WORDS, 10, "Western Union MTCN"),
        ("moneygram", MONEYGRAM_REF, MG_WORDS, 8, "MoneyGram reference"),
    ):
        for m in pattern.finditer(plain):
            word = _nearest(words, plain, m.start(), m.end(), KEYWORD_WINDOW)
            if word is None:
                continue
            value = re.sub(r"\D", "", m.group())
            out.append(
                Identifier(
                    kind,
                    value,
                    text[m.start() : m.end()],
                    m.start(),
                    m.end(),
                    f"format only: {label} {digits} digits next to the keyword '{word.group()}' (no public checksum)",
                )
            )
    return out


def _handles(plain: str, text: str) -> list[Identifier]:
    out = []
    for kind, pattern in HANDLES:
        for m in pattern.finditer(plain):
            value = f"{m.group(1).lower()}/{m.group(2)}"
            out.append(
                Identifier(
                    kind,
                    value,
                    text[m.start() : m.end()],
                    m.start(),
                    m.end(),
                    f"format only: {kind} pay link handle (not checked with {kind})",
                )
            )
    return out

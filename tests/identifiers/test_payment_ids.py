"""Payment identifier validation against published vectors: every valid one accepted, every altered one
rejected (docs/formats/payments.md "Identifier validation"; SWIFT IBAN registry examples; card networks'
test numbers; BIP-173/350; EIP-55; the USDT-TRC20 contract address)."""

from __future__ import annotations

import hashlib

import base58
import pytest

from triage.identifiers.payment_ids import (
    ascii_digits,
    check_btc,
    check_card,
    check_eth,
    check_iban,
    check_tron,
    find_identifiers,
    keccak256_hex,
    mask_card,
)

VALID_IBANS = [
    "GB82 WEST 1234 5698 7654 32",
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "AL47212110090000000235698741",
    "IQ98NBIQ850123456789012",
    "TR330006100519786457841326",
]
INVALID_IBANS = [
    "GB82 WEST 1234 5698 7654 33",  # last digit + 1: mod-97 fails
    "GB82WEST1234569876543",  # one character short for GB (22)
    "GB82WEST123456987654321",  # one too long
    "FR1420041010050500013M02607",  # mod-97 fails
    "XX82WEST12345698765432",
]  # no such country


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_valid_ibans(iban: str) -> None:
    verdict = check_iban(iban)
    assert verdict.ok, verdict.evidence
    assert verdict.value == iban.replace(" ", "") and "mod-97 ok" in verdict.evidence


@pytest.mark.parametrize("iban", INVALID_IBANS)
def test_invalid_ibans_rejected(iban: str) -> None:
    assert not check_iban(iban).ok


def test_iban_evidence_says_what_was_checked() -> None:
    assert (
        check_iban("GB82WEST12345698765432").evidence
        == "IBAN mod-97 ok, GB length 22 ok, BBAN format ok; GB BBAN has no separate national check digits"
    )
    assert check_iban("FR1420041010050500013M02606").evidence.endswith("national check digits ok")


@pytest.mark.parametrize(
    "pan,brand",
    [
        ("4111111111111111", "Visa"),
        ("5555555555554444", "Mastercard"),
        ("2223003122003222", "Mastercard"),
        ("378282246310005", "American Express"),
        ("6011111111111117", "Discover"),
        ("3530111333300000", "JCB"),
    ],
)
def test_valid_cards(pan: str, brand: str) -> None:
    verdict = check_card(pan)
    assert verdict.ok and brand in verdict.evidence and "Luhn ok" in verdict.evidence


@pytest.mark.parametrize(
    "pan",
    [
        "4111111111111112",
        "5555555555554445",
        "378282246310006",
        "1234567812345670",  # Luhn-valid but no issuer starts with 1
        "411111111111111",
    ],
)  # Visa prefix, Luhn-valid length 15: not a Visa length
def test_invalid_cards_rejected(pan: str) -> None:
    assert not check_card(pan).ok


def test_card_masking_keeps_first_six_and_last_four() -> None:
    assert mask_card("4111111111111111") == "411111******1111"
    assert mask_card("378282246310005") == "378282*****0005"


@pytest.mark.parametrize(
    "address,evidence",
    [
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "version 0x00 (P2PKH)"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "version 0x05 (P2SH)"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bech32 (BIP-173) checksum ok, witness v0, 20-byte"),
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bech32 (BIP-173)"),
        ("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "witness v0, 32-byte"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "bech32m (BIP-350) checksum ok, witness v1"),
    ],
)
def test_valid_bitcoin(address: str, evidence: str) -> None:
    verdict = check_btc(address)
    assert verdict.ok and evidence in verdict.evidence


@pytest.mark.parametrize(
    "address",
    [
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",  # last character changed
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",  # bech32 checksum broken
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # BIP-350: v0 with a bech32m checksum
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # BIP-350: v1 with a bech32 checksum
        "bc1qw508D6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # mixed case
        "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",  # testnet version 0x6f: valid base58check, not mainnet
    ],
)
def test_invalid_bitcoin_rejected(address: str) -> None:
    assert not check_btc(address).ok


def test_keccak_is_not_sha3() -> None:
    empty = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256_hex(b"") == empty and hashlib.sha3_256(b"").hexdigest() != empty


@pytest.mark.parametrize(
    "address",
    [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ],
)
def test_eip55_checksums(address: str) -> None:
    verdict = check_eth(address)
    assert verdict.ok and verdict.evidence == "ethereum EIP-55 checksum ok (Keccak-256)"
    assert verdict.value == address


@pytest.mark.parametrize(
    "address", ["0x52908400098527886E0F7030069857D2E4169EE7", "0xde709f2102306220921060314715629080e2fb77"]
)
def test_one_case_ethereum_is_format_only(address: str) -> None:
    verdict = check_eth(address)
    assert verdict.ok and "format only" in verdict.evidence and verdict.value == address.lower()


@pytest.mark.parametrize(
    "address",
    [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",  # one letter's case flipped
        "0xfb6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
    ],
)  # 39 hex digits
def test_bad_eip55_rejected(address: str) -> None:
    assert not check_eth(address).ok


def test_tron_usdt_contract_vector() -> None:
    verdict = check_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
    assert verdict.ok and verdict.evidence == "tron base58check ok, version 0x41"
    payload = base58.b58decode_check("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
    assert payload.hex() == "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"


@pytest.mark.parametrize(
    "address",
    [
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u",  # checksum broken
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    ],
)  # valid base58check, version 0x00
def test_bad_tron_rejected(address: str) -> None:
    assert not check_tron(address).ok


def kinds(text: str) -> list[tuple[str, str]]:
    return [(i.kind, i.value) for i in find_identifiers(text)]


def test_transfer_codes_need_their_keyword() -> None:
    assert kinds("MTCN 123-456-7890") == [("mtcn", "1234567890")]
    assert kinds("Western Union ref: 1234567890") == [("mtcn", "1234567890")]
    assert kinds("the code is 1234567890") == []
    assert kinds("MTCN 12345678901") == []  # 11 digits
    assert kinds("MoneyGram reference 1234 5678") == [("moneygram", "12345678")]
    assert kinds("reference 12345678") == []


def test_uk_sort_code_and_account_format_only() -> None:
    found = find_identifiers("sort code 08-99-99 account 66374958 please")
    assert [(i.kind, i.value) for i in found] == [("uk_account", "08-99-99 66374958")]
    assert found[0].evidence.startswith("format only")
    assert kinds("sort code 089999 acc 66374958") == [("uk_account", "08-99-99 66374958")]
    assert kinds("089999 66374958") == []  # six digits nobody called a sort code
    assert kinds("see you 12-05-25 at 10") == []


def test_handles() -> None:
    assert kinds("https://paypal.me/AbuJamal88 revolut.me/karwan12 wise.com/pay/me/rebarh") == [
        ("paypal", "paypal.me/AbuJamal88"),
        ("revolut", "revolut.me/karwan12"),
        ("wise", "wise.com/pay/me/rebarh"),
    ]


def test_eastern_digits_read_with_exact_offsets() -> None:
    text = "رمز ويسترن يونيون ٤٨٢٩١٣٥٧٠٦"
    assert ascii_digits("٤٨٢۰۱۲") == "482012"
    [found] = find_identifiers(text)
    assert (found.kind, found.value, found.raw) == ("mtcn", "4829135706", "٤٨٢٩١٣٥٧٠٦")
    assert text[found.start : found.end] == found.raw


def test_phone_numbers_and_embedded_digits_are_not_cards() -> None:
    assert kinds("call +447911123456 or 07501234567, or 4111111111111111 (test card)") == [("card", "4111111111111111")]
    assert kinds("order 41111111111111112") == []  # 17 digits that fail Luhn

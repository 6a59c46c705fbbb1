"""Payments: the multilingual message set (precision and recall printed, both must be 1.0), WhatsApp Pay
tables, payment apps, unreadable stores reported, and the demo payment SMS through a whole run."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from fixtures.build_payments import (
    PAY_TX_SECONDS,
    build_cash_app,
    build_revolut,
    build_whatsapp_payments,
)
from fixtures.build_whatsapp_android import MIN, T0
from fixtures.payment_messages import DEMO_PAYMENT_RECORDS, DEMO_PAYMENT_SMS, PAYMENT_CASES
from parsers.payments.apps import WalletStoresParser
from tests.bundle_layout import payload
from tests.parser_context import parse_file
from triage.enrich.payments import TextSource, payments_in
from triage.model.records import Message
from triage.model.timeutil import UTC
from triage.run.loose_parse import parse_loose_file


def iso_ms(ms: int) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def message(text: str, direction: str = "incoming") -> Message:
    return Message(
        app="sms",
        thread="t",
        direction=direction,
        counterpart="+33612345678",
        sender=None,
        body=text,
        time_utc=None,
        time_raw=None,
        time_encoding="unix_ms",
    )


def test_multilingual_set_precision_and_recall() -> None:
    expected, found = set(), set()
    for n, case in enumerate(PAYMENT_CASES):
        expected |= {(n, *item) for item in case.expected}
        source = TextSource(message(case.text), "body", case.text, "received", "+33612345678", None)
        found |= {
            (n, p.method, p.identifier, p.amount, p.currency, p.extra.get("amount_high")) for p in payments_in(source)
        }
    hits = expected & found
    precision = len(hits) / len(found) if found else 1.0
    recall = len(hits) / len(expected) if expected else 1.0
    langs = sorted({c.lang for c in PAYMENT_CASES})
    print(
        f"\npayment extraction on {len(PAYMENT_CASES)} messages ({', '.join(langs)}): "
        f"{len(expected)} expected, {len(found)} found, precision {precision:.3f}, recall {recall:.3f}"
    )
    assert found - expected == set(), "false positives"
    assert expected - found == set(), "missed"
    assert precision == 1.0 and recall == 1.0
    assert set(langs) >= {"en", "ckb", "ar", "fa", "sq", "vi", "fr"}


def test_payment_record_fields_from_a_message() -> None:
    text = "Payez 3k€ au chauffeur, Amex 3782 822463 10005 merci"
    msg = message(text, "outgoing")
    msg.id, msg.source_file_id, msg.source_table, msg.source_row = 7, 3, "sms", "42"
    [p] = payments_in(TextSource(msg, "body", text, "sent", "+33612345678", msg))
    assert (p.method, p.identifier, p.amount, p.currency, p.direction, p.counterpart) == (
        "card",
        "378282246310005",
        3000.0,
        "EUR",
        "sent",
        "+33612345678",
    )
    assert (p.source_file_id, p.source_table, p.source_row, p.message_id) == (3, "sms", "42", 7)
    assert p.extra == {
        "source": {"type": "message", "id": 7, "field": "body"},
        "raw": "3782 822463 10005",
        "span": [29, 46],
        "validation": "card Luhn ok, American Express prefix and length 15 ok",
        "amount_text": "3k€",
    }
    assert p.context == "Payez 3k€ au chauffeur, Amex 378282*****0005 merci"  # card masked in the context


def test_a_sum_named_twice_is_one_record() -> None:
    text = "سڵاو برا، نرخ بۆ هەر کەسێک £2,500 ە (£2,500 per person) تا بەریتانیا"
    [p] = payments_in(TextSource(message(text), "body", text, "received", "x", None))
    assert (p.method, p.amount, p.currency, p.extra["raw"], p.extra["repeated_as"]) == (
        "amount",
        2500.0,
        "GBP",
        "£2,500",
        ["£2,500"],
    )


def test_several_amounts_stay_separate_records() -> None:
    text = "deposit $3,000 now and £500 on arrival to IBAN GB82 WEST 1234 5698 7654 32"
    found = payments_in(TextSource(message(text), "body", text, "received", "x", None))
    assert [(p.method, p.identifier, p.amount, p.currency) for p in found] == [
        ("amount", None, 3000.0, "USD"),
        ("amount", None, 500.0, "GBP"),
        ("iban", "GB82WEST12345698765432", None, None),
    ]


@pytest.fixture(scope="module")
def whatsapp(tmp_path_factory) -> tuple[list[dict], list[str]]:
    path = tmp_path_factory.mktemp("wapay") / "msgstore.db"
    build_whatsapp_payments(path)
    records, warnings = parse_loose_file(path)
    return [r for r in records if r["type"] == "payment"], warnings


def test_whatsapp_pay_transaction_every_field(whatsapp) -> None:
    payments, warnings = whatsapp
    assert warnings == []
    by_row = {(p["provenance"]["table"], p["provenance"]["row"]): p for p in payments}
    assert sorted(by_row) == [
        ("message_payment", "22"),
        ("pay_transaction", "1"),
        ("pay_transaction", "2"),
        ("pay_transactions", "1"),
    ]
    first = by_row[("pay_transaction", "1")]
    assert {
        k: first[k]
        for k in (
            "method",
            "identifier",
            "amount",
            "currency",
            "direction",
            "counterpart",
            "context",
            "time_utc",
            "time_raw",
            "time_encoding",
            "message_id",
        )
    } == {
        "method": "whatsapp_pay",
        "identifier": "WA-TX-0001",
        "amount": 2500.0,
        "currency": "GBP",
        "direction": "sent",
        "counterpart": "33612345678@s.whatsapp.net",
        "context": None,
        "time_utc": iso_ms(T0 + 200 * MIN),
        "time_raw": T0 + 200 * MIN,
        "time_encoding": "unix_ms",
        "message_id": None,
    }
    assert first["extra"] == {
        "status": 20,
        "type": 1,
        "sender": None,
        "receiver": "33612345678@s.whatsapp.net",
        "key_id": "3EB0P1",
        "bank_transaction_id": "BANK-REF-77",
        "init_timestamp": T0 + 199 * MIN,
        "country": "GB",
        "message_row_id": 20,
        "time_unit": "unix_ms (chosen by magnitude: WhatsApp does not document the unit)",
    }
    assert len(first["provenance"]["sha256"]) == 64


def test_whatsapp_pay_seconds_and_received(whatsapp) -> None:
    payments, _ = whatsapp
    second = next(p for p in payments if p["identifier"] == "WA-TX-0002")
    assert (second["amount"], second["currency"], second["direction"], second["counterpart"]) == (
        1500.0,
        "EUR",
        "received",
        "9647501234567@s.whatsapp.net",
    )
    assert (second["time_raw"], second["time_encoding"], second["time_utc"]) == (
        PAY_TX_SECONDS,
        "unix_s",
        "2025-05-12T14:26:40Z",
    )
    assert second["extra"]["status"] == 405 and second["extra"]["sender"] == "9647501234567@s.whatsapp.net"


def test_whatsapp_legacy_pay_transactions(whatsapp) -> None:
    payments, _ = whatsapp
    legacy = next(p for p in payments if p["provenance"]["table"] == "pay_transactions")
    assert (
        legacy["identifier"],
        legacy["amount"],
        legacy["currency"],
        legacy["direction"],
        legacy["counterpart"],
        legacy["time_raw"],
    ) == ("WA-LEG-1", 350.0, "USD", "sent", "33612345678@s.whatsapp.net", T0 + 230 * MIN)
    assert (
        legacy["extra"]["bank_transaction_id"] == "UPI-9"
        and legacy["extra"]["receiver"] == "33612345678@s.whatsapp.net"
    )


def test_whatsapp_message_payment_without_transaction(whatsapp) -> None:
    payments, _ = whatsapp
    orphan = next(p for p in payments if p["provenance"]["table"] == "message_payment")
    assert (
        orphan["amount"],
        orphan["currency"],
        orphan["direction"],
        orphan["counterpart"],
        orphan["context"],
        orphan["time_raw"],
    ) == (750.0, "EUR", "received", "9647501234567@s.whatsapp.net", "€750.00", T0 + 220 * MIN)
    assert orphan["extra"]["note"] == "payment message without a pay_transaction row"


def test_msgstore_without_payment_tables_gives_no_warning(tmp_path) -> None:
    from fixtures.build_whatsapp_android import build_msgstore

    build_msgstore(tmp_path / "msgstore.db")
    records, warnings = parse_loose_file(tmp_path / "msgstore.db")
    assert warnings == [] and not [r for r in records if r["type"] == "payment"]


def test_cash_app(tmp_path) -> None:
    build_cash_app(tmp_path / "cash_money.db")
    records, warnings = parse_loose_file(tmp_path / "cash_money.db")
    assert warnings == []
    sent, received = [r for r in records if r["type"] == "payment"]
    assert (
        sent["method"],
        sent["identifier"],
        sent["amount"],
        sent["currency"],
        sent["direction"],
        sent["counterpart"],
        sent["context"],
        sent["time_raw"],
    ) == ("cash_app", "$karwank", 1500.0, "GBP", "sent", "Karwan K", "seat", T0 + 300 * MIN)
    assert (received["identifier"], received["amount"], received["currency"], received["direction"]) == (
        "$karwank",
        25.5,
        None,
        "received",
    )
    assert received["extra"]["state"] == "COMPLETE" and received["provenance"]["table"] == "payment"


def test_revolut(tmp_path) -> None:
    build_revolut(tmp_path / "payments_recent_db")
    records, warnings = parse_loose_file(tmp_path / "payments_recent_db")
    [p] = [r for r in records if r["type"] == "payment"]
    assert warnings == []
    assert (p["method"], p["identifier"], p["time_raw"], p["time_encoding"]) == (
        "revolut",
        "rcp-7f3a",
        T0 + 400 * MIN,
        "unix_ms",
    )
    assert p["extra"] == {"recipientType": "BANK", "itemId": "tx-0001", "itemType": "TRANSFER", "unreadCounter": 0}


@pytest.mark.parametrize(
    "device_path,words",
    [
        (
            "/data/data/com.paypal.android.p2pmobile/shared_prefs/PayPalEncrypted_encrypted.xml",
            "not readable: PayPal keeps account and transaction data in AndroidX EncryptedSharedPreferences",
        ),
        ("/data/data/com.breadwallet/databases/platform.db", "not readable: BRD kvStoreTable values"),
        ("/private/var/mobile/Library/Passes/passes23.sqlite", "not parsed: Apple Wallet payment_transaction layout"),
    ],
)
def test_unreadable_stores_are_reported_by_name(tmp_path, device_path: str, words: str) -> None:
    path = tmp_path / Path(device_path).name
    path.write_bytes(b'<map><string name="__androidx_security_crypto_encrypted_prefs_key_keyset__">x</string></map>')
    records, warnings = parse_file(WalletStoresParser(), path, tmp_path, device_path)
    assert records == []
    assert warnings == [f"{device_path}: {words}" + warnings[0].split(words, 1)[1]]


def test_metamask_addresses_are_checked(tmp_path) -> None:
    state = {
        "engine": {
            "backgroundState": {
                "AccountTrackerController": {
                    "accounts": {
                        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed": {"balance": "0x0"},
                        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD": {"balance": "0x0"},
                    }
                }
            }
        }
    }  # second: EIP-55 fails
    path = tmp_path / "persist-root"
    path.write_text(json.dumps(state), encoding="utf-8")
    device = "/private/var/mobile/Containers/Data/Application/UUID/Documents/persistStore/persist-root"
    records, warnings = parse_file(WalletStoresParser(), path, tmp_path, device)
    assert warnings == []
    [p] = records
    assert (p.method, p.identifier, p.extra["app"], p.source_offset) == (
        "eth",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "metamask",
        path.read_bytes().index(b"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    )


# -- the demo payment SMS through a whole run -------------------------------------------------------
CARD_SMS = ("+447911123456", 1, "2025-05-22T10:00:00.000", "my card 4111 1111 1111 1111 for the hotel", 1)


@pytest.fixture(scope="module")
def demo_payment_run(tmp_path_factory) -> Path:
    from fixtures import build_demo
    from triage.cli import main

    work = tmp_path_factory.mktemp("paydemo")
    evidence = work / "phone"
    sms = (*DEMO_PAYMENT_SMS, CARD_SMS)
    with pytest.MonkeyPatch.context() as mp:  # the SMS the lead adds to the demo phone, and one with a card
        mp.setattr(build_demo, "SMS", sms)
        build_demo.build_sms_db(evidence / "data" / "com.android.providers.telephony" / "databases" / "mmssms.db")
    paypal = evidence / "data" / "com.paypal.android.p2pmobile" / "shared_prefs" / "PayPal_encrypted.xml"
    paypal.parent.mkdir(parents=True)
    paypal.write_text("<map/>", encoding="utf-8")
    out = work / "out"
    with redirect_stdout(io.StringIO()):
        assert main(["run", str(evidence), "--out", str(out), "--quiet"]) == 0
    return payload(out)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_demo_payment_sms_give_the_expected_records(demo_payment_run) -> None:
    payments = read_jsonl(demo_payment_run / "records" / "payment.jsonl")
    messages = {m["id"]: m for m in read_jsonl(demo_payment_run / "records" / "message.jsonl")}
    got = [{k: p[k] for k in DEMO_PAYMENT_RECORDS[0]} for p in payments]
    assert got[:4] == list(DEMO_PAYMENT_RECORDS)
    for p in payments:
        source = messages[p["extra"]["source"]["id"]]
        assert p["message_id"] == source["id"] and p["extra"]["source"]["type"] == "message"
        assert p["provenance"] == source["provenance"]  # the payment cites the SMS row it was read from
        assert source["body"][slice(*p["extra"]["span"])] == p["extra"]["raw"]
    assert payments[1]["extra"]["validation"].startswith("format only: Western Union MTCN")
    assert payments[2]["extra"]["validation"] == "tron base58check ok, version 0x41"


def test_demo_payments_in_report_and_custody(demo_payment_run) -> None:
    from tests.report_demo import listing

    section = listing(demo_payment_run, "payments")  # the paged payments listing
    for text in (
        "4829135706",
        "TJevxueRb1Uwr3dMSiy1k63agntcUadbxB",
        "08-99-99 66374958",
        "tron",
        "uk_account",
        "+447700900123",
        "2025-05-21T09:05:33",
        "GBP",
        "received",
        "411111******1111",
    ):
        assert text in section, text
    assert "4111111111111111" not in section and "4111 1111 1111 1111" not in section
    custody = read_jsonl(demo_payment_run / "custody.jsonl")
    [entry] = [c for c in custody if c["action"] == "payments extracted"]
    assert entry["details"] == {
        "from_text": 5,
        "by_method": {"amount": 1, "card": 1, "mtcn": 1, "tron": 1, "uk_account": 1},
    }
    warnings = read_jsonl(demo_payment_run / "records" / "parse_warning.jsonl")
    assert any(re.search(r"PayPal_encrypted\.xml: not readable", w["message"]) for w in warnings)


def test_telegram_payment_service_messages_become_payments():
    from triage.enrich.payments import service_payments
    from triage.model.records import Message

    sent = Message(
        app="telegram",
        thread="u1",
        direction="outgoing",
        counterpart="user:777",
        sender=None,
        body=None,
        time_utc=None,
        time_raw=1747051200,
        time_encoding="unix_s",
        extra={
            "action": {
                "name": "messageActionPaymentSent",
                "constructor": "0x96163f56",
                "currency": "EUR",
                "total_amount": 150000,
                "invoice_slug": "seat-42",
            }
        },
    )
    kuwait = Message(
        app="telegram",
        thread="u2",
        direction="incoming",
        counterpart="user:778",
        sender=None,
        body=None,
        time_utc=None,
        time_raw=1747051260,
        time_encoding="unix_s",
        extra={"action": {"name": "messageActionPaymentSentMe", "currency": "KWD", "total_amount": 1250500}},
    )
    other = Message(
        app="telegram",
        thread="u3",
        direction="incoming",
        counterpart="user:779",
        sender=None,
        body=None,
        time_utc=None,
        time_raw=None,
        time_encoding="unix_s",
        extra={"action": {"name": "messageActionChatJoinedByLink"}},
    )
    sent.id, kuwait.id, other.id = 1, 2, 3
    payments = service_payments([sent, kuwait, other])
    assert [(p.method, p.amount, p.currency, p.direction, p.identifier) for p in payments] == [
        ("telegram payment", 1500.0, "EUR", "sent", "seat-42"),
        ("telegram payment", 1250.5, "KWD", "received", None),  # KWD has 3 minor units
    ]
    assert payments[0].extra["source"] == {"type": "message", "id": 1, "field": "extra.action"}

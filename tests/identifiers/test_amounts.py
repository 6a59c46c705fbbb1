"""Amounts with currency in the route languages (docs/domain/crossing_indicators.md "Lexicon", "Prices"):
symbols, codes, words, local digits, thousands and decimal separators, multipliers, ranges."""

from __future__ import annotations

import pytest

from triage.identifiers.amounts import find_amounts, parse_number


@pytest.mark.parametrize(
    "text,value,currency,high,raw",
    [
        ("1500 euro per person", 1500, "EUR", None, "1500 euro"),
        ("Price is £5,000, DM for next route", 5000, "GBP", None, "£5,000"),
        ("€ 3.000 cash", 3000, "EUR", None, "€ 3.000"),
        ("3k€ to the driver", 3000, "EUR", None, "3k€"),
        ("3k pounds", 3000, "GBP", None, "3k pounds"),
        ("3.5k $", 3500, "USD", None, "3.5k $"),
        ("1500e", 1500, "EUR", None, "1500e"),
        ("1200-1500 euro", 1200, "EUR", 1500, "1200-1500 euro"),
        ("£1200-1500", 1200, "GBP", 1500, "£1200-1500"),
        ("2-3k $", 2000, "USD", 3000, "2-3k $"),
        ("US$500", 500, "USD", None, "US$500"),
        ("1.500,50 EUR", 1500.5, "EUR", None, "1.500,50 EUR"),
        ("GBP 2500", 2500, "GBP", None, "GBP 2500"),
        ("4 thousand pounds", 4000, "GBP", None, "4 thousand pounds"),
        ("300 USDT", 300, "USDT", None, "300 USDT"),
        ("٣٠٠٠ دولار", 3000, "USD", None, "٣٠٠٠ دولار"),  # Arabic, Eastern Arabic digits
        ("نرخ ٣٬٥٠٠ دۆلار", 3500, "USD", None, "٣٬٥٠٠ دۆلار"),  # Sorani, Arabic thousands sign
        ("٢٥٠٠ پاوەندە", 2500, "GBP", None, "٢٥٠٠ پاوەندە"),  # Sorani copula glued to the word
        ("۲۵۰۰ یورو", 2500, "EUR", None, "۲۵۰۰ یورو"),  # Farsi digits
        ("۲ هزار یورو", 2000, "EUR", None, "۲ هزار یورو"),
        ("٢٫٥ ألف دولار", 2500, "USD", None, "٢٫٥ ألف دولار"),  # Arabic decimal sign + thousand
        ("Çmimi 4000 paund", 4000, "GBP", None, "4000 paund"),  # Albanian
        ("5000 lekë", 5000, "ALL", None, "5000 lekë"),
        ("dolar 3000", 3000, "USD", None, "dolar 3000"),
        ("Giá 6.000 bảng Anh", 6000, "GBP", None, "6.000 bảng Anh"),  # Vietnamese
        ("5 triệu đồng", 5_000_000, "VND", None, "5 triệu đồng"),
        ("2000 đô la", 2000, "USD", None, "2000 đô la"),
        ("4,000 pounds. With boats", 4000, "GBP", None, "4,000 pounds"),
    ],
)
def test_amounts(text: str, value: float, currency: str, high: float | None, raw: str) -> None:
    [amount] = find_amounts(text)
    assert (amount.value, amount.currency, amount.high, amount.raw) == (value, currency, high, raw)
    assert text[amount.start : amount.end] == raw


@pytest.mark.parametrize(
    "text",
    [
        "see you tomorrow at 3",
        "call 07501234567",
        "rendez-vous au 3e étage",  # French "3rd": a bare e on a small number is not euro
        "TRY to pay 50 today",  # the code TRY only in capitals, and next to a number
        "we were 40 people in the boat",
    ],
)
def test_no_amount(text: str) -> None:
    assert find_amounts(text) == []


def test_two_mentions_give_two_amounts() -> None:
    found = find_amounts("نرخ £2,500 ە (£2,500 per person) and 500 dollars to 600 dollars")
    assert [(a.value, a.currency) for a in found] == [(2500, "GBP"), (2500, "GBP"), (500, "USD"), (600, "USD")]


def test_not_a_range_keeps_the_number_the_currency_touches() -> None:
    [amount] = find_amounts("I paid 07-1500 €")
    assert (amount.value, amount.high, amount.raw) == (1500, None, "1500 €")


@pytest.mark.parametrize(
    "token,value",
    [
        ("3.500", 3500),
        ("3,500", 3500),
        ("3,5", 3.5),
        ("3.5", 3.5),
        ("1.500,50", 1500.5),
        ("1,500.50", 1500.5),
        ("1 500", 1500),
        ("12", 12),
    ],
)
def test_number_separators(token: str, value: float) -> None:
    assert parse_number(token) == value


def test_a_glued_e_inside_an_identifier_is_not_euro():
    # an iOS contact's UUID (ContactsV2.sqlite ZIDENTIFIER) once read as "34911 EUR"
    assert find_amounts("34911E25-1D9A-418C-A116-FF6B30DC66C4") == []
    assert [(a.value, a.currency) for a in find_amounts("1500e per person, 1500e.")] == [(1500.0, "EUR")] * 2


@pytest.mark.parametrize(
    "text,value,currency,raw",
    [
        # the word for "thousand" in each route language, with that language's currency words
        ("buha 2 hezar euro ye", 2000, "EUR", "2 hezar euro"),  # Kurmanji
        ("kişi başı 2 bin avro", 2000, "EUR", "2 bin avro"),  # Turkish
        ("fiyat 3 bin sterlin", 3000, "GBP", "3 bin sterlin"),
        ("5000 TL ödedim", 5000, "TRY", "5000 TL"),
        ("بیه ۲ زره ډالر ده", 2000, "USD", "۲ زره ډالر"),  # Pashto
        ("el si3r 3 alf dolar lel nafar", 3000, "USD", "3 alf dolar"),  # Arabizi
        ("3 alaf dolar", 3000, "USD", "3 alaf dolar"),
        ("٣ آلاف دولار", 3000, "USD", "٣ آلاف دولار"),  # Arabic plural of ألف
        ("3 ألف دولار", 3000, "USD", "3 ألف دولار"),
        ("۳ هزار یورو", 3000, "EUR", "۳ هزار یورو"),  # Farsi/Dari
        ("ዋጋ 1500 ዩሮ እዩ።", 1500, "EUR", "1500 ዩሮ"),  # Tigrinya, Ethiopic full stop after the word
        ("2 ሺ ዶላር", 2000, "USD", "2 ሺ ዶላር"),  # Amharic
        ("1.5 ሺሕ ፓውንድ", 1500, "GBP", "1.5 ሺሕ ፓውንድ"),
        ("3 ሽሕ ዩሮ", 3000, "EUR", "3 ሽሕ ዩሮ"),  # Tigrinya
        ("3 mijë euro", 3000, "EUR", "3 mijë euro"),  # Albanian
        ("3 nghìn đô", 3000, "USD", "3 nghìn đô"),  # Vietnamese (north and south)
        ("5 ngàn đô la", 5000, "USD", "5 ngàn đô la"),
    ],
)
def test_thousand_words_and_currencies_of_the_route_languages(text: str, value: float, currency: str, raw: str) -> None:
    [amount] = find_amounts(text)
    assert (amount.value, amount.currency, amount.raw) == (value, currency, raw)


@pytest.mark.parametrize(
    "text",
    [
        "5 bin bags by the door",  # English "bin": a thousand only before a currency
        "2 hezar",  # a thousand of nothing named
        "5000 tl",  # TL (Turkish lira) only in capitals, like TRY
    ],
)
def test_thousand_words_without_a_currency_are_no_amount(text: str) -> None:
    assert find_amounts(text) == []

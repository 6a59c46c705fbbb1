"""Money amounts with their currency, in the languages of the Channel routes.

What is sought and why: docs/domain/crossing_indicators.md "Lexicon" and "Prices".

`find_amounts(text)` returns every number that stands next to a currency: a symbol (€ £ $ ₺ ₫), an
ISO code (EUR, GBP, USD, IQD …, and USDT), or a currency word in English, French, Albanian,
Vietnamese, Arabic, Farsi, Pashto, Kurdish (Sorani and Kurmanji), Turkish, Amharic and Tigrinya
(euro/avro/یورو/یۆرۆ/ዩሮ, pound/paun/sterlin/پاوەند/پونډ/ፓውንድ, dolar/دولار/ډالر/ዶላር, đô, lek, TL …). A
number without a currency is not an amount here: "1500" alone may be anything.

Numbers are read as people type them: "3.500" and "3,500" (thousands), "3,5" and "3.5" (decimals),
"1.500,50", "3k", "3 thousand", and the word for thousand or million in each language ("2 هزار",
"2 hezar", "2 bin", "2 زره", "2 alf", "2 ሺ", "3 mijë", "3 nghìn", "5 triệu"), Eastern Arabic and
Persian digits, the Arabic decimal and thousands signs, ranges "1200-1500" (the low end is the amount,
`high` the other), and "1500e" (a bare "e" is read as euro only when glued to a number of 100 or more:
"3e étage" is French for "3rd floor").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triage.identifiers.payment_ids import ascii_digits

# currency words and signs → ISO 4217 code (USDT is not ISO but is what the messages name)
CURRENCY_WORDS: dict[str, tuple[str, ...]] = {
    # avro: Turkish; ዩሮ: Amharic and Tigrinya
    "EUR": ("€", "eur", "euro", "euros", "evro", "ewro", "avro", "یورو", "يورو", "یۆرۆ", "أورو", "اورو", "ዩሮ"),
    "GBP": (
        "£",
        "gbp",
        "pound",
        "pounds",
        "quid",
        "paun",
        "paund",
        "pound sterling",
        "pounds sterling",
        "sterlina",
        "sterlinë",
        "sterline",
        "sterling",
        "sterlin",  # Turkish
        "ingiliz sterlini",
        "livre sterling",
        "livres sterling",
        "bảng anh",
        "bảng",
        "جنيه استرليني",
        "جنيه",
        "پاوەند",
        "پاوند",
        "پوند",
        "باوند",
        "پاون",
        "پونډ",  # Pashto
        "ፓውንድ",  # Amharic and Tigrinya, both spellings of the w
        "ፓዉንድ",
    ),
    "USD": (
        "$",
        "us$",
        "usd",
        "dollar",
        "dollars",
        "dolar",
        "dollari",
        "dollarë",
        "dolarë",
        "đô la",
        "đô",
        "dola",
        "دولار",
        "دۆلار",
        "دلار",
        "ډالر",  # Pashto
        "ዶላር",  # Amharic and Tigrinya
    ),
    "ALL": ("lek", "lekë", "leke", "lekë"),
    "IQD": ("iqd", "dinar", "دينار", "دینار"),
    "IRR": ("irr", "rial", "ریال", "ريال"),
    "TRY": ("₺", "try", "tl", "lira", "لیرە", "ليرة"),
    "VND": ("₫", "vnd", "đồng"),
    "AFN": ("afn", "afghani", "افغانی"),
    "USDT": ("usdt", "tether", "تتر"),
}
_WORD_TO_CODE = {w.casefold(): code for code, words in CURRENCY_WORDS.items() for w in words}
# codes that are ordinary words in some language are accepted only in upper case
_UPPER_ONLY = {"try", "tl"}
MULTIPLIERS: dict[str, int] = {
    "k": 1_000,
    "thousand": 1_000,
    "alf": 1_000,  # Arabizi, singular and plural (ألف, آلاف)
    "alaf": 1_000,
    "aalaf": 1_000,
    "ألف": 1_000,
    "الف": 1_000,
    "آلاف": 1_000,
    "هزار": 1_000,
    "هەزار": 1_000,
    "hezar": 1_000,  # Kurmanji, and Farsi typed in Latin letters
    "hazar": 1_000,
    "زره": 1_000,  # Pashto
    "bin": 1_000,  # Turkish
    "ሺ": 1_000,  # Amharic (ሺ, ሺህ, ሺሕ) and Tigrinya (ሽሕ)
    "ሺህ": 1_000,
    "ሺሕ": 1_000,
    "ሽሕ": 1_000,
    "mijë": 1_000,
    "mije": 1_000,
    "nghìn": 1_000,
    "ngàn": 1_000,
    "mille": 1_000,
    "million": 1_000_000,
    "milion": 1_000_000,
    "triệu": 1_000_000,
    "مليون": 1_000_000,
    "میلیون": 1_000_000,
    "ملیۆن": 1_000_000,
}
BARE_E_MINIMUM = 100


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_CUR = _alternation(list(_WORD_TO_CODE))
_MULT = _alternation(list(MULTIPLIERS))
_NUM = r"\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_QTY = rf"(?:{_NUM})(?:\s?(?:{_MULT})(?![^\W\d_]))?"


def _range(tag: str) -> str:
    """A quantity, or two joined by a dash or 'to' ('1200-1500', '2-3k'); groups named per form."""
    return rf"(?P<{tag}low>{_QTY})(?:\s?(?:[-–—~]|to|à|deri|đến)\s?(?P<{tag}high>{_QTY}))?"


# Sorani and Farsi glue a copula or ezafe to the word: "پاوەندە" (= "is pounds"), "یورویی"
_CLITIC = "ە|ی|یە|ه"
_NOT_IN_WORD = r"(?<![\d.,A-Za-z\u00C0-\u024F])"
AMOUNT = re.compile(
    rf"(?i){_NOT_IN_WORD}(?P<pcur>{_CUR})\s?{_range('p')}"
    rf"|{_NOT_IN_WORD}{_range('s')}(?:\s?(?P<scur>{_CUR})(?:{_CLITIC})?(?![^\W\d_])|(?P<bare_e>e)(?!\w))"
)


@dataclass(frozen=True)
class Amount:
    value: float
    currency: str
    raw: str
    start: int
    end: int
    high: float | None = None  # upper end of a range ("1200-1500 euro")


def find_amounts(text: str) -> list[Amount]:
    if not text:
        return []
    plain = ascii_digits(text).replace("٫", ".").replace("٬", ",")
    out: list[Amount] = []
    for m in AMOUNT.finditer(plain):
        amount = _read(m, text)
        if amount is not None:
            out.append(amount)
    return out


def _read(m: re.Match[str], text: str) -> Amount | None:
    prefix = m.group("pcur") is not None
    word = m.group("pcur") if prefix else (m.group("scur") or m.group("bare_e"))
    low_text = m.group("plow") if prefix else m.group("slow")
    high_text = m.group("phigh") if prefix else m.group("shigh")
    if word.casefold() in _UPPER_ONLY and not word.isupper():
        return None
    if not prefix and m.group("bare_e"):
        currency = "EUR"
    else:
        currency = _WORD_TO_CODE[word.casefold()]
    low, high = quantity(low_text), quantity(high_text) if high_text else None
    if high is not None and not _has_multiplier(low_text) and _has_multiplier(high_text):
        low *= high / quantity(_strip_multiplier(high_text))  # "2-3k": the multiplier covers both ends
    if high is not None and (high <= low or re.match(r"0\d", low_text)):
        # "07-1500 €": not a range (a leading-zero code, a date part): only the number the currency touches
        if prefix:
            return None
        start = m.start("shigh")
        return Amount(high, currency, text[start : m.end()], start, m.end())
    if currency == "EUR" and m.group("bare_e") and low < BARE_E_MINIMUM:
        return None
    return Amount(low, currency, text[m.start() : m.end()], m.start(), m.end(), high)


def quantity(token: str) -> float:
    """'3.500' → 3500, '3,5' → 3.5, '1.500,50' → 1500.5, '3k' → 3000, '2 هزار' → 2000."""
    token = token.strip()
    factor = 1
    for word, mult in MULTIPLIERS.items():
        if token.casefold().endswith(word.casefold()) and _has_multiplier(token):
            factor, token = mult, token[: -len(word)].strip()
            break
    return parse_number(token) * factor


def _has_multiplier(token: str) -> bool:
    return bool(re.search(rf"(?i)(?:{_MULT})$", token.strip())) and not token.strip()[-1].isdigit()


def _strip_multiplier(token: str) -> str:
    return re.sub(rf"(?i)\s?(?:{_MULT})$", "", token.strip())


def parse_number(token: str) -> float:
    digits = re.sub(r"[\u00a0\u202f ]", "", token)
    seps = [i for i, c in enumerate(digits) if c in ".,"]
    if not seps:
        return float(digits)
    last = seps[-1]
    decimals = len(digits) - last - 1
    if decimals in (1, 2) and (len(seps) == 1 or digits[last] != digits[seps[0]]):
        whole = re.sub(r"[.,]", "", digits[:last])
        return float(f"{whole}.{digits[last + 1 :]}")
    return float(re.sub(r"[.,]", "", digits))

"""Text normalisation before lexicon matching (docs/domain/crossing_indicators.md "Lexicon").

One function, `normalise`, applied to both the lexicon terms and the message text, so that the
spellings people actually type still meet the lexicon:
- case folding; NFKC (full-width forms, ligatures);
- Arabic script: letter variants unified (ي/ی/ى → ی, ك/ک → ک, ة/ه/ە → ە for matching, أ/إ/آ/ٱ → ا,
  ۆ/ؤ → و, ئ → ی), tatweel and harakat removed, ZWNJ/ZWJ removed (Farsi writes them inconsistently),
  Eastern Arabic and Persian digits → ASCII digits;
- Pashto letters people without a Pashto keyboard type as their Farsi neighbours (ۍ/ې → ی, ګ → گ,
  ټ → ت, ړ → ر, ډ → د, ښ → ش, ږ → ژ);
- Latin: diacritics stripped (Vietnamese "áo phao" ≈ "ao phao", Albanian ë/ç, French é, Kurmanji î/ê/û/ş/ç,
  Turkish ş/ç/ğ), đ → d, Turkish dotless ı → i;
- Arabizi (Arabic typed in Latin letters and digits): inside a word, 7 → h, 5 → kh, 6 → t, 9 → q, 3 → ʿ,
  2 dropped ("7awala" ≈ "hawala", "ba7r" ≈ "bahr"); amounts, phone numbers, times and units ("£2,500",
  "07700 900123", "3pm", "40hp", "4x4") are never touched (`fold_arabizi`);
- Ethiopic (Amharic, Tigrinya): the letters written interchangeably for one sound are unified
  (ሐ/ኀ → ሀ, ሠ → ሰ, ዐ → አ, ፀ → ጸ, in every vowel order: "ባሕር" ≈ "ባህር" sea);
- other scripts pass through unchanged.
Offsets of lexicon hits point into the folded text, which is what the explanations quote.
"""

from __future__ import annotations

import re
import unicodedata

ARABIC_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ێ": "ی",
        "ك": "ک",
        "ڪ": "ک",
        "ة": "ە",
        "ه": "ە",
        "ھ": "ە",
        "ۀ": "ە",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ۆ": "و",
        "ۊ": "و",
        "ڕ": "ر",
        "ڵ": "ل",
        "گ": "گ",
        "٠": "0",
        "١": "1",
        "٢": "2",
        "٣": "3",
        "٤": "4",
        "٥": "5",
        "٦": "6",
        "٧": "7",
        "٨": "8",
        "٩": "9",
        "۰": "0",
        "۱": "1",
        "۲": "2",
        "۳": "3",
        "۴": "4",
        "۵": "5",
        "۶": "6",
        "۷": "7",
        "۸": "8",
        "۹": "9",
        "\u200c": None,
        "\u200d": None,
        "\u0640": None,  # ZWNJ, ZWJ, tatweel
        "đ": "d",
        "Đ": "d",
        "ı": "i",  # Turkish dotless i (casefold keeps it; Kurmanji writers on Turkish keyboards use it)
        # Pashto letters typed as their Farsi neighbours on Farsi/Arabic keyboards
        "ۍ": "ی",
        "ې": "ی",
        "ګ": "گ",
        "ټ": "ت",
        "ړ": "ر",
        "ډ": "د",
        "ښ": "ش",
        "ږ": "ژ",
    }
)
# Ethiopic letters that Amharic writers use interchangeably, the same sound written with several letters
# (ሀ/ሐ/ኀ h, ሰ/ሠ s, አ/ዐ glottal, ጸ/ፀ ts'): "ባህር" and "ባሕር" (sea), "ዕዳ" and "እዳ" (debt) are one word.
# Each order (vowel) of the series maps to the same order of the first letter. Tigrinya keeps ሐ/ሀ and
# ዐ/አ apart in speech, but its chat spelling varies the same way, and the lexicon terms are folded too.
ETHIOPIC_HOMOPHONES: dict[int, str | None] = {
    **{0x1210 + i: chr(0x1200 + i) for i in range(8)},  # ሐ series → ሀ series
    **{0x1280 + i: chr(0x1200 + i) for i in range(7)},  # ኀ series → ሀ series
    **{0x1220 + i: chr(0x1230 + i) for i in range(8)},  # ሠ series → ሰ series
    **{0x12D0 + i: chr(0x12A0 + i) for i in range(7)},  # ዐ series → አ series
    **{0x1340 + i: chr(0x1338 + i) for i in range(7)},  # ፀ series → ጸ series
}
ARABIC_FOLD.update(ETHIOPIC_HOMOPHONES)
HARAKAT = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Folded text for matching (see the module docstring); never used for display."""
    if text.isascii():  # most chat text: nothing to fold but case, spaces and Arabizi digits
        return fold_arabizi(SPACES.sub(" ", text.lower()).strip())
    text = unicodedata.normalize("NFKC", text).casefold().translate(ARABIC_FOLD)
    text = HARAKAT.sub("", text)
    return fold_arabizi(SPACES.sub(" ", unicodedata.normalize("NFC", _strip_latin_marks(text))).strip())


# Arabizi: the digits chat writers use for Arabic letters Latin has no key for (docs/domain/
# crossing_indicators.md "Lexicon"). 7' and 3' (خ, غ) are read before the bare digits.
# 3 (ع) becomes ʿ, the ayn of transliteration, not nothing: dropped, "si3r" (price) would read as English
# "sir". 2 (hamza) is dropped, as most writers without the digit leave it out.
ARABIZI_LETTERS = {"7'": "kh", "3'": "gh", "6'": "z", "7": "h", "5": "kh", "6": "t", "9": "q", "3": "ʿ", "2": ""}
ARABIZI_DIGITS = frozenset("235679")
# A cheap test that almost every message fails: an Arabizi digit touching a Latin letter.
_ARABIZI_HINT = re.compile(r"[a-z][235679]|[235679]'?[a-z]")
# A candidate word: Latin letters, digits and the apostrophe of 7'/3', with an Arabizi digit touching a
# letter ("£2,500" and "07700" have no letter: they are never candidates).
_CANDIDATE_WORD = re.compile(r"[a-z0-9']*(?:[a-z][235679]|[235679]'?[a-z])[a-z0-9']*")
_ARABIZI_TOKEN = re.compile(r"7'|3'|6'|[235679]")
# What follows a leading number when the word is a quantity, a time, an ordinal or a unit, not Arabizi.
# A one-letter Arabizi word: a digit and a vowel other than the French ordinal "e" ("3e étage").
SHORT_ARABIZI = re.compile(r"^[23579][aiou]$")
UNIT_SUFFIXES = frozenset(
    "am pm h hr hrs min mins s sec k m km kg g gb mb tb l ml hp cv ps kw w v x st nd rd th er eme e "
    "eur gbp usd p pax pers ppl people day days d j jours pcs pc".split()
)


def fold_arabizi(text: str) -> str:
    """Read Arabizi digits as letters inside Latin words only; every number, amount, time and unit is
    left as written (see `UNIT_SUFFIXES` and `_is_arabizi_word`)."""
    if not _ARABIZI_HINT.search(text):
        return text
    return _CANDIDATE_WORD.sub(_fold_word, text)  # only the candidate words reach Python


def _fold_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if not _is_arabizi_word(word):
        return word
    return _ARABIZI_TOKEN.sub(lambda m: ARABIZI_LETTERS[m.group(0)], word)


def _is_arabizi_word(word: str) -> bool:
    """A word mixing letters with Arabizi digits that is not a quantity: "7awala", "ba7r", "3ubur",
    "etla3", "7a" are; "3pm", "40hp", "2nd", "1500eur", "4x4", "mp3", "ps5", "covid19" are not."""
    stripped = word.strip("'")
    letters = sum(c.isalpha() for c in stripped)
    digits = [c for c in stripped if c.isdigit()]
    if not digits or not set(digits) <= ARABIZI_DIGITS or len(digits) > 2:
        return False  # "4x4" and "covid19" (a 4, a 1), plain numbers; codes and serials carry more digits
    if letters < 2:
        return SHORT_ARABIZI.match(stripped) is not None  # "7a" (future), "3a" (on); not "2x", "5k", "3e"
    lead = len(stripped) - len(stripped.lstrip("0123456789"))
    if lead > 1:
        return False  # "40hp", "1500eur", "20h30"
    if lead == 1 and stripped[1:] in UNIT_SUFFIXES:
        return False  # "3pm", "5k", "2nd"
    trail = len(stripped) - len(stripped.rstrip("0123456789"))
    inner_digit = any(c.isdigit() for c in stripped[lead : len(stripped) - trail])
    # two letters and a number ("mp3", "ps5", "s9" has one) is a model name; "etla3", "ma3ak" are words
    return not (trail and not lead and not inner_digit and letters < 3)


def _strip_latin_marks(text: str) -> str:
    """Drop the combining marks on Latin letters only (Ethiopic/Indic marks carry meaning)."""
    decomposed = unicodedata.normalize("NFD", text)
    if not any(map(unicodedata.combining, decomposed)):
        return decomposed  # no mark at all (most Arabic-script and emoji text): nothing to drop, no loop
    kept: list[str] = []
    base_is_latin = False
    for char in decomposed:
        if unicodedata.combining(char):
            if not base_is_latin:
                kept.append(char)
            continue
        base_is_latin = _latin(char)
        kept.append(char)
    return "".join(kept)


def _latin(char: str) -> bool:
    return char.isascii() or "LATIN" in unicodedata.name(char, "")


def is_word_char(char: str) -> bool:
    """Letters, digits and marks count as word characters for whole-word matching, in every script."""
    return char.isalnum() or unicodedata.category(char).startswith("M")

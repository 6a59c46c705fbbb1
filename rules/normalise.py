"""Text normalisation before lexicon matching (docs/domain/crossing_indicators.md "Lexicon").

One function, `normalise`, applied to both the lexicon terms and the message text, so that the
spellings people actually type still meet the lexicon:
- case folding; NFKC (full-width forms, ligatures);
- Arabic script: letter variants unified (ي/ی/ى → ی, ك/ک → ک, ة/ه/ە → ە for matching, أ/إ/آ/ٱ → ا,
  ۆ/ؤ → و, ئ → ی), tatweel and harakat removed, ZWNJ/ZWJ removed (Farsi writes them inconsistently),
  Eastern Arabic and Persian digits → ASCII digits;
- Latin: diacritics stripped (Vietnamese "áo phao" ≈ "ao phao", Albanian ë/ç, French é), đ → d;
- Ethiopic and other scripts pass through unchanged.
The same function also keeps a map back to the original text so a hit can quote what was written.
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
    }
)
HARAKAT = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Folded text for matching (see the module docstring); never used for display."""
    if text.isascii():  # most chat text: nothing to fold but case and spaces
        return SPACES.sub(" ", text.lower()).strip()
    text = unicodedata.normalize("NFKC", text).casefold().translate(ARABIC_FOLD)
    text = HARAKAT.sub("", text)
    return SPACES.sub(" ", unicodedata.normalize("NFC", _strip_latin_marks(text))).strip()


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

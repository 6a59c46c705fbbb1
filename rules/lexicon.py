"""The multilingual crossing lexicon as an Aho-Corasick automaton over normalised text.

One pass over a message finds every term of every concept and language (whole words only, in any
script), so evaluation cost does not grow with the number of terms. Each hit keeps the concept, the
language of the term (for routing and display, never for scoring), its confidence label and the words
as matched in the folded text.

Each (concept, language) block names its sources: `sources: [S…]` for the whole block, or
`sources: {H: [S…], M: [S…]}` per confidence label (docs/domain/crossing_indicators.md "Lexicon"); a
block whose terms have no source is refused at load, so every term stays traceable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from rules.normalise import is_word_char, normalise
from rules.yaml_data import load_yaml

CONFIDENCE_ORDER = {"L": 0, "M": 1, "H": 2}


@dataclass(frozen=True)
class LexiconHit:
    concept: str
    language: str
    confidence: str  # H, M or L (docs/domain/crossing_indicators.md "Lexicon")
    term: str  # the lexicon term as listed
    start: int  # offsets in the normalised text
    end: int


@dataclass(frozen=True)
class _Entry:
    concept: str
    language: str
    confidence: str
    term: str
    length: int
    affixes: _Affixes | None = None  # what may attach to the term inside a word; None: whole words only


@dataclass(frozen=True)
class _Affixes:
    """Endings and prefixes a term may carry and still be the same word (docs/domain/crossing_indicators.md
    "Lexicon": inflected languages)."""

    prefixes: frozenset[str]
    suffixes: frozenset[str] | None  # None: any ending (scripts whose endings are too many to list)


SOURCE_TAG = re.compile(r"^S\d+$")


class Lexicon:
    def __init__(self, path: Path) -> None:
        raw = path.read_bytes()
        doc = load_yaml(raw)
        self.path, self.sha256 = path, hashlib.sha256(raw).hexdigest()
        self.name, self.version = doc["lexicon"], str(doc["version"])
        self.concepts: dict[str, list[_Entry]] = {}
        # (concept, language, confidence) → the [S…] tags its terms rest on (docs/domain/sources.md)
        self.sources: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Entry]] = {}
        for concept, languages in doc["concepts"].items():
            for language, block in languages.items():
                where = f"{path.name}: {concept}/{language}"
                for confidence, terms in block.items():
                    if confidence == "sources":
                        continue
                    if confidence not in CONFIDENCE_ORDER:
                        raise ValueError(f"{where}: unknown confidence {confidence!r} (use H, M, L or sources)")
                    self.sources[(concept, language, confidence)] = _block_sources(
                        block.get("sources"), confidence, where
                    )
                    for term in terms:
                        key = normalise(str(term))
                        affixes = _affixes(key, language, concept)
                        entry = _Entry(concept, language, confidence, str(term), len(key), affixes)
                        entries.setdefault(key, []).append(entry)
                        self.concepts.setdefault(concept, []).append(entry)
        for key, found in _with_arabic_script_stem_forms(_with_ethiopic_stem_forms(entries)).items():
            self._automaton.add_word(key, tuple(found))
        self._automaton.make_automaton()

    @property
    def languages(self) -> list[str]:
        return sorted({e.language for entries in self.concepts.values() for e in entries})

    def terms(self, concept: str, language: str, confidences: str = "HML") -> list[str]:
        """The terms of one concept in one language, as listed, with the given confidence labels."""
        return [
            e.term for e in self.concepts.get(concept, []) if e.language == language and e.confidence in confidences
        ]

    def match(self, text: str | None) -> list[LexiconHit]:
        """Whole-word hits in `text`, in order of position; overlapping terms are all kept."""
        if not text:
            return []
        return self.match_folded(normalise(text))

    def match_folded(self, folded: str) -> list[LexiconHit]:
        """`match` on text already normalised (`normalised`): a scan that also needs the folded text for
        other lists (rules/context.py) folds each message once."""
        hits: list[LexiconHit] = []
        for end_index, found in self._automaton.iter(folded):
            for entry in found:
                start, end = end_index - entry.length + 1, end_index + 1
                if _whole_word(folded, start, end, entry.affixes):
                    hits.append(LexiconHit(entry.concept, entry.language, entry.confidence, entry.term, start, end))
        hits.sort(key=lambda h: (h.start, h.end, h.concept, h.language))
        return _outside_addresses(folded, hits) if hits and ("@" in folded or "." in folded) else hits

    @staticmethod
    def normalised(text: str) -> str:
        """The text as matched (hit offsets point into it)."""
        return normalise(text)

    def identity(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "file": self.path.name, "sha256": self.sha256}


# E-mail and web addresses, and host names with a common top-level domain: words inside them are part of a
# name ("sales@chandlery.co.uk", "ukcrossing.org"), not words the writer used ("uk" is not "the UK" there).
# A full stop typed without a space ("england.the boat") is not a host name: the domain must be a known one.
ADDRESS = re.compile(
    r"[^\s@]+@[^\s@]+|(?:https?://|www\.)\S+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|info|io|gov|edu|uk|fr|be|de|nl|co)\b(?:/\S*)?"
)


def _outside_addresses(folded: str, hits: list[LexiconHit]) -> list[LexiconHit]:
    spans = [m.span() for m in ADDRESS.finditer(folded)]
    if not spans:
        return hits
    return [h for h in hits if not any(start <= h.start and h.end <= end for start, end in spans)]


def _whole_word(text: str, start: int, end: int, affixes: _Affixes | None = None) -> bool:
    """Terms match whole words, except for the affixes their script or language attaches: Arabic-script
    terms any suffix (Sorani بەلەمەکەدا "in the boat", حەواڵەدار) and the clitic prefixes و/ب/ل/ال;
    Ethiopic terms any suffix (ጀልባው "the boat") and the prepositions written onto the word (ብጀልባ);
    Kurmanji, Turkish and Albanian terms their listed endings (motora, tekneler, varkën), French and
    English terms their plural (and French feminine) endings (zodiacs, moteurs, arrivées, outboards)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    first, last = text[start], text[end - 1]
    # a term that starts/ends with a symbol (🇬🇧, 100%) needs no boundary on that side
    start_ok = not is_word_char(first) or not is_word_char(before)
    end_ok = not is_word_char(last) or not is_word_char(after)
    if affixes is None or (start_ok and end_ok):
        return start_ok and end_ok
    if not start_ok:
        word_start = start
        while word_start > 0 and is_word_char(text[word_start - 1]):
            word_start -= 1
        start_ok = text[word_start:start] in affixes.prefixes
    if not end_ok:
        word_end = end
        while word_end < len(text) and is_word_char(text[word_end]):
            word_end += 1
        end_ok = affixes.suffixes is None or text[end:word_end] in affixes.suffixes
    return start_ok and end_ok


def _block_sources(given: object, confidence: str, where: str) -> tuple[str, ...]:
    """The [S…] tags for one confidence label of a block; a block without them is refused."""
    tags = given.get(confidence) if isinstance(given, dict) else given
    if not isinstance(tags, list) or not tags:
        raise ValueError(
            f"{where}: the {confidence} terms name no source; add `sources: [S…]` to the block "
            "(tags resolve in docs/domain/sources.md)"
        )
    bad = [t for t in tags if not SOURCE_TAG.match(str(t))]
    if bad:
        raise ValueError(f"{where}: sources must be tags like S32, not {bad}")
    return tuple(str(t) for t in tags)


ARABIC_PREFIXES = {"و", "ب", "ل", "ال", "لل", "بال", "وال", "فال", "وب", "ول"}


# Prepositions Tigrinya and Amharic write onto the noun (ብ/በ by, ን/ለ for, ናብ/ወደ to, ካብ/ከ from, የ of).
ETHIOPIC_PREFIXES = {"ብ", "ን", "ናብ", "ካብ", "ምስ", "ከም", "በ", "ለ", "የ", "ከ", "ወደ", "እንደ", "ስለ"}
# Endings of the Latin-script inflected languages, as folded by rules/normalise.py (ê → e, ı → i):
# Kurmanji ezafe, plural and indefinite (motora, belemê, jelîqeyên, belemek), Turkish case and plural
# (tekneler, İngiltere'ye, kaçakçılar), Albanian definite and case forms (varkën, anijes, gomonet).
LATIN_SUFFIXES = {
    "kmr": frozenset("a e en an ek eke eki i ya ye yen yan yek yi ke ki ekan".split()),
    "tr": frozenset(
        "ler lar leri lari lerin larin lere lara i u e a de da te ta den dan ten tan ye ya yi yu nin nun in un "
        "le la yle yla ci cu cilar ciler".split()
    ),
    "sq": frozenset("n s t ve a e i in it at et ne ja ri".split()),
    # French plural -s/-x and feminine -e/-es (zodiacs, gilets, moteurs, arrivées), English plural -s/-es
    # (outboards, crossings, agents): the lexicon lists the singular once, as for the languages above
    "fr": frozenset("s x e es".split()),
    "en": frozenset("s es".split()),
}
ARABIC_AFFIXES = _Affixes(frozenset(ARABIC_PREFIXES), None)
ETHIOPIC_AFFIXES = _Affixes(frozenset(ETHIOPIC_PREFIXES), None)


# Code words are attested as written ("game", "taxi"); their inflected forms ("games", "taxis") are the
# ordinary words, so Latin endings are not added to them.
CODE_WORD_CONCEPTS = frozenset({"code_game", "code_taxi"})


def _with_ethiopic_stem_forms(entries: dict[str, list[_Entry]]) -> dict[str, list[_Entry]]:
    """Ethiopic writes a suffix by changing the vowel of the word's last letter: ዳር (edge) + -ው (the) is
    ዳሩ, ፖሊስ + -ኦች (plural) is ፖሊሶች, ሞተር + -ው is ሞተሩ. A term ending in a vowel-less (sixth-order)
    letter is also sought with that letter in its other orders; the suffix after it is then allowed as for
    every Ethiopic term (ETHIOPIC_AFFIXES)."""
    out = {key: list(found) for key, found in entries.items()}
    for key, found in entries.items():
        last = ord(key[-1])
        if not (0x1200 <= last <= 0x137F) or (last - 0x1200) % 8 != 5:
            continue
        row = last - 5
        for order in (0, 1, 2, 3, 4, 6, 7):
            letter = chr(row + order)
            if unicodedata.category(letter) == "Lo":
                out.setdefault(key[:-1] + letter, []).extend(found)
    return out


def _with_arabic_script_stem_forms(entries: dict[str, list[_Entry]]) -> dict[str, list[_Entry]]:
    """A noun ending in ه/ة (folded to ە) changes that letter before some endings: Pashto writes the
    oblique and plural with ې (حواله → د حوالې "of the hawala", folded ی), Arabic the construct state
    with ت (حوالة → حوالتك "your transfer"). Each form is added for its own language's terms only: Arabic
    أجرة with ی would be اجري (I run), Pashto بیه with ت would be بيت (house)."""
    out = {key: list(found) for key, found in entries.items()}
    for key, found in entries.items():
        if len(key) < 3 or key[-1] != "ە":
            continue
        for language, ending in (("ps", "ی"), ("ar", "ت")):
            own = [f for f in found if f.language == language and f.affixes is ARABIC_AFFIXES]
            if own:
                out.setdefault(key[:-1] + ending, []).extend(own)
    return out


def _affixes(term: str, language: str, concept: str = "") -> _Affixes | None:
    """What may attach to this term inside a word, by the term's script, then its language."""
    if any("\u0600" <= c <= "\u06ff" for c in term):
        return ARABIC_AFFIXES
    if any("\u1200" <= c <= "\u137f" for c in term):
        return ETHIOPIC_AFFIXES
    if concept in CODE_WORD_CONCEPTS:
        return None
    suffixes = LATIN_SUFFIXES.get(language)
    return _Affixes(frozenset(), suffixes) if suffixes else None

"""The multilingual crossing lexicon as an Aho-Corasick automaton over normalised text.

One pass over a message finds every term of every concept and language (whole words only, in any
script), so evaluation cost does not grow with the number of terms. Each hit keeps the concept, the
language of the term (for routing and display, never for scoring), its confidence label and the words
as written in the message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
import yaml

from rules.normalise import is_word_char, normalise

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
    arabic_script: bool = False  # Arabic, Kurdish, Farsi, Pashto: affixes attach to the word


class Lexicon:
    def __init__(self, path: Path) -> None:
        raw = path.read_bytes()
        doc = yaml.safe_load(raw)
        self.path, self.sha256 = path, hashlib.sha256(raw).hexdigest()
        self.name, self.version = doc["lexicon"], str(doc["version"])
        self.concepts: dict[str, list[_Entry]] = {}
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Entry]] = {}
        for concept, languages in doc["concepts"].items():
            for language, by_confidence in languages.items():
                for confidence, terms in by_confidence.items():
                    if confidence not in CONFIDENCE_ORDER:
                        raise ValueError(f"{path.name}: {concept}/{language}: unknown confidence {confidence!r}")
                    for term in terms:
                        key = normalise(str(term))
                        entry = _Entry(concept, language, confidence, str(term), len(key), _arabic(key))
                        entries.setdefault(key, []).append(entry)
                        self.concepts.setdefault(concept, []).append(entry)
        for key, found in entries.items():
            self._automaton.add_word(key, tuple(found))
        self._automaton.make_automaton()

    def match(self, text: str | None) -> list[LexiconHit]:
        """Whole-word hits in `text`, in order of position; overlapping terms are all kept."""
        if not text:
            return []
        folded = normalise(text)
        hits: list[LexiconHit] = []
        for end_index, found in self._automaton.iter(folded):
            for entry in found:
                start, end = end_index - entry.length + 1, end_index + 1
                if _whole_word(folded, start, end, entry.arabic_script):
                    hits.append(LexiconHit(entry.concept, entry.language, entry.confidence, entry.term, start, end))
        hits.sort(key=lambda h: (h.start, h.end, h.concept, h.language))
        return hits

    @staticmethod
    def normalised(text: str) -> str:
        """The text as matched (hit offsets point into it)."""
        return normalise(text)

    def identity(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "file": self.path.name, "sha256": self.sha256}


def _whole_word(text: str, start: int, end: int, arabic_script: bool = False) -> bool:
    """Latin/Ethiopic terms match whole words. Arabic-script terms may carry suffixes (Sorani
    بەلەمەکەدا "in the boat", حەواڵەدار) and the clitic prefixes و/ب/ل/ال."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    first, last = text[start], text[end - 1]
    # a term that starts/ends with a symbol (🇬🇧, 100%) needs no boundary on that side
    start_ok = not is_word_char(first) or not is_word_char(before)
    if arabic_script and not start_ok:
        word_start = start
        while word_start > 0 and is_word_char(text[word_start - 1]):
            word_start -= 1
        start_ok = text[word_start:start] in ARABIC_PREFIXES
    end_ok = arabic_script or not is_word_char(last) or not is_word_char(after)
    return start_ok and end_ok


ARABIC_PREFIXES = {"و", "ب", "ل", "ال", "لل", "بال", "وال", "فال", "وب", "ول"}


def _arabic(text: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in text)

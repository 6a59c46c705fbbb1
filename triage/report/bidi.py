"""Evidence text laid out for print so that right-to-left text keeps its amounts and numbers quotable.

Two things go wrong when a Sorani or Arabic message holding "£2,500" is printed (issue 15 item 8):

- The paragraph's direction. A message quoted inside an English sentence is laid out as part of that
  left-to-right paragraph: its full stop lands at the wrong end and the words of a wrapped line run in
  the wrong order. WeasyPrint does not implement `dir="auto"`, so the direction is decided here, from the
  first strong character (the rule of Unicode UAX #9, P2-P3), and the text is printed as its own block
  with an explicit `dir`.
- Numbers inside right-to-left text. After an Arabic letter, UAX #9 (rule W2) makes "2,500" an Arabic
  number and the "£" before it a right-to-left neutral: the page shows "2,500£", and a copy of the text
  reads so. Each run of left-to-right material inside right-to-left text (an amount with its currency, a
  phone number, Latin words) is put in a left-to-right isolate, so it reads, and copies, in the order it
  was written. In left-to-right text, numbers and amounts get the same isolate.

The text itself is never changed: only markup is added around runs of it (the characters, in their
stored order, are those `display.shown_html` gives: capped, controls made visible, escaped). Every run of
figures is also kept on one line (`white-space: nowrap`, class "num" in report.css).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from triage.report.display import display_text, html_escape

_STRONG_RTL = ("R", "AL")
# what a left-to-right run is made of inside right-to-left text: it starts and ends on a strong L, a digit or a
# currency sign (`_EDGE`); between them, numbers' separators and spaces keep it one run
_EDGE = ("L", "EN", "AN", "ET")
# (other neutrals too, "@" or "%": between two left-to-right characters UAX #9 rule N1 makes them left to right)
_INSIDE = ("L", "EN", "AN", "ET", "CS", "ES", "WS", "ON", "NSM", "BN")
# in left-to-right text only figures are isolated: an amount, a phone number, a time
_FIGURE_EDGE = ("EN", "AN", "ET")
_FIGURE_INSIDE = ("EN", "AN", "ET", "CS", "ES", "WS")  # "+44 7911 123456", "1 500 €" stay whole


@lru_cache(maxsize=4096)
def _bidi(char: str) -> str:
    return unicodedata.bidirectional(char)


def direction(text: str) -> str:
    """ "rtl" or "ltr": the direction of the first strong character (UAX #9 P2-P3); "ltr" when there is none."""
    for char in text:
        kind = _bidi(char)
        if kind == "L":
            return "ltr"
        if kind in _STRONG_RTL:
            return "rtl"
    return "ltr"


def runs(text: str, rtl: bool) -> list[tuple[str, bool]]:
    """`text` cut into (part, isolate) pairs, in order: isolate=True for each left-to-right run (in
    right-to-left text) or each run of figures (in left-to-right text). Joined, the parts are `text`."""
    edge, inside = (_EDGE, _INSIDE) if rtl else (_FIGURE_EDGE, _FIGURE_INSIDE)
    out: list[tuple[str, bool]] = []
    i, n, plain_from = 0, len(text), 0
    while i < n:
        if _bidi(text[i]) not in edge and not _signed_number(text, i):
            i += 1
            continue
        end = last = i
        while end < n and _bidi(text[end]) in inside:
            if _bidi(text[end]) in edge:
                last = end
            elif not rtl and not (end + 1 < n and (_bidi(text[end + 1]) in edge or _signed_number(text, end + 1))):
                break  # in left-to-right text a separator belongs to a number only between its figures
            end += 1
        if not rtl and not any(_bidi(c) in ("EN", "AN") for c in text[i : last + 1]):
            i = last + 1  # a lone currency or per-cent sign: nothing to keep in order
            continue
        if plain_from < i:
            out.append((text[plain_from:i], False))
        out.append((text[i : last + 1], True))
        i = plain_from = last + 1
    if plain_from < n:
        out.append((text[plain_from:], False))
    return out


def _signed_number(text: str, i: int) -> bool:
    """A plus or minus sign directly before a digit ("+447700900456", "-12.5") starts the number's run."""
    return text[i] in "+-\u2212" and i + 1 < len(text) and _bidi(text[i + 1]) in ("EN", "AN")


def evidence_html(value: Any, kind: str = "message_body", where: str | None = None) -> str:
    """Evidence text as an inline run of HTML: its parts escaped, its left-to-right runs or figures isolated.
    The caller places it in an element whose `dir` is `direction(display_text(value))` (see `evidence_block`)."""
    text = display_text(value, kind, where)
    rtl = direction(text) == "rtl"
    return "".join(
        '<span class="num" dir="ltr">' + html_escape(part) + "</span>" if isolated else html_escape(part)
        for part, isolated in runs(text, rtl)
    )


def evidence_block(
    value: Any, kind: str = "message_body", where: str | None = None, tag: str = "div", css_class: str = "evidence"
) -> Markup:
    """Evidence text as its own block with the direction of its first strong character (`direction`), and
    its amounts and other left-to-right runs isolated (`evidence_html`). Empty text: an empty Markup."""
    if value is None or value == "":
        return Markup("")
    text_dir = direction(display_text(value, kind, where))
    return Markup(f'<{tag} class="{css_class}" dir="{text_dir}">{evidence_html(value, kind, where)}</{tag}>')

"""How evidence text is shown in index.html and report.pdf: capped, its hidden controls made visible,
its neighbours isolated from it.

Three dangers in text taken from a phone, each answered here once for both documents
(docs/report_safety.md):

- Size. A message of 1 MB without a space, or a contact name of 50 MB, stalls or kills the PDF engine
  and makes the page unusable. Every field shown is cut at a limit of its kind (`DISPLAY_LIMITS`), and
  the cut is said in the text itself: "… [cut: N more characters; the full text is in records/…]". The
  full value stays in the case store and in the exports (records/*.jsonl, CSV, case.jsonld).
- Hidden controls. Bidi controls (U+202E RIGHT-TO-LEFT OVERRIDE …) would reorder what a reader sees,
  e.g. turn a file name's "exe.jpg" around or reverse the hash beside it; NUL and other C0/C1 controls
  are invisible or dropped by the HTML parser. Each is replaced by a visible marker such as ⟦RLO⟧ or
  ⟦NUL⟧, so it is reported and never acts.
- Neighbours. Right-to-left text (an Arabic name) next to a number or a hash can still move it under the
  Unicode bidi algorithm: names and paths go in `<bdi>`, hashes, identifiers and amounts in
  `<span dir="ltr">`, so each keeps its own order whatever stands beside it.

The limits are data (`DISPLAY_LIMITS`): the report step records them in the custody log.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from markupsafe import Markup, escape

# Characters shown at most, per kind of field (the kinds the report templates use).
MESSAGE_BODY_CHARS = 4000  # a long message still reads in full (a page or two); longer ones are rare
NAME_CHARS = 200  # names, titles, counterparts, thread and file names, labels: real ones are far shorter
PATH_CHARS = 1000  # provenance and on-device paths (PATH_MAX is 4096 bytes; real phone paths stay under 300)
TEXT_CHARS = 2000  # every other field: explanations, warnings, payment contexts, device facts
RECORD_JSON_CHARS = 4000  # custody details shown as JSON in the examination record
LIST_ITEMS = 50  # values shown of one list field (a contact's numbers, a party's names): a count, not characters

# The limits as one record, for the custody log ("report written" lists them); read, never change, at run time.
DISPLAY_LIMITS: dict[str, int] = {
    "message_body": MESSAGE_BODY_CHARS,
    "name": NAME_CHARS,
    "path": PATH_CHARS,
    "text": TEXT_CHARS,
    "record_json": RECORD_JSON_CHARS,
    "list_items": LIST_ITEMS,
}
DEFAULT_KIND = "text"
_TEXT_LIMITS = {kind: limit for kind, limit in DISPLAY_LIMITS.items() if kind != "list_items"}  # kinds of text
FULL_TEXT_IN = "records/ (JSON Lines and CSV exports)"  # where a cut value is whole, when no better place is known

# Named bidi controls (Unicode UAX #9): each shown as ⟦NAME⟧.
BIDI_CONTROLS = {
    "\u061c": "ALM",
    "\u200e": "LRM",
    "\u200f": "RLM",
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
}
_C0_NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()
# C0 controls but TAB, LF and CR (a message's layout, shown as such), DEL, C1 controls, lone surrogates (bytes
# that were not UTF-8), BOM and non-characters, and the bidi controls.
_CONTROL_RE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ud800-\udfff\ufeff\ufffe\uffff" + "".join(BIDI_CONTROLS) + "]"
)
_HTML_SPECIAL = re.compile("[&<>'\"]")  # what HTML escaping changes: most evidence text holds none of it
# a value with none of these, under its kind's limit, is shown exactly as it is: one search decides
_NOT_PLAIN = re.compile(_CONTROL_RE.pattern[:-1] + "&<>'\"]")


def marker(char: str) -> str:
    """The visible stand-in for one control character, e.g. ⟦RLO⟧, ⟦NUL⟧, ⟦U+0085⟧."""
    code = ord(char)
    if char in BIDI_CONTROLS:
        name = BIDI_CONTROLS[char]
    elif code < 0x20:
        name = _C0_NAMES[code]
    elif code == 0x7F:
        name = "DEL"
    elif code == 0xFEFF:
        name = "BOM"
    elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, carried by Python's surrogateescape
        name = f"byte 0x{code - 0xDC00:02X}"
    else:
        name = f"U+{code:04X}"
    return f"\u27e6{name}\u27e7"


def visible_controls(text: str) -> str:
    """`text` with every bidi control, NUL and other invisible control replaced by its marker."""
    return _CONTROL_RE.sub(lambda m: marker(m.group()), text)


def has_controls(text: str) -> bool:
    return _CONTROL_RE.search(text) is not None


def limit_of(kind: str) -> int:
    if kind == "list_items":
        raise ValueError("list_items counts values, not characters: use listed()")
    try:
        return DISPLAY_LIMITS[kind]
    except KeyError:
        raise ValueError(f"unknown display kind {kind!r}; one of {', '.join(DISPLAY_LIMITS)}") from None


def cut_marker(more: int, where: str | None = None) -> str:
    return f" … [cut: {more:,} more characters; the full text is in {where or FULL_TEXT_IN}]"


def display_text(value: Any, kind: str = DEFAULT_KIND, where: str | None = None) -> str:
    """Plain text as the report shows it: cut to the kind's limit (the cut said), controls made visible.

    The limit counts the characters of the value as stored; markers do not use it up."""
    text = value if isinstance(value, str) else str(value)
    limit = DISPLAY_LIMITS.get(kind) if kind != "list_items" else None
    if limit is None:
        limit = limit_of(kind)  # raises, naming the kinds there are
    if len(text) <= limit:
        # the common case, a short value without controls, costs one regular-expression search
        return text if _CONTROL_RE.search(text) is None else visible_controls(text)
    end = limit
    while end > limit - 32 and end > 1 and unicodedata.combining(text[end]):
        end -= 1  # cut before a letter, not between it and its accents
    return visible_controls(text[:end]) + cut_marker(len(text) - end, where)


def html_escape(text: str) -> str:
    """`text` escaped for HTML exactly as markupsafe.escape writes it (&amp; &lt; &gt; &#39; &#34;), as a
    plain str: the page renderers (rows.py) build whole rows as text and make one Markup of them."""
    if _HTML_SPECIAL.search(text) is None:
        return text
    return (
        text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;").replace('"', "&#34;")
    )


def shown_html(value: Any, kind: str = DEFAULT_KIND, where: str | None = None) -> str:
    """`shown` as a plain str."""
    if type(value) is str and len(value) <= _TEXT_LIMITS.get(kind, -1) and _NOT_PLAIN.search(value) is None:
        return value  # short, no control, nothing to escape: most of a phone's text
    if type(value) is int and kind in _TEXT_LIMITS:
        text = str(value)  # digits and a sign
        if len(text) <= _TEXT_LIMITS[kind]:
            return text
    if value is None:
        return ""
    if isinstance(value, Markup):  # markup the report made itself (the map, a join of safe parts)
        return str(value)
    return html_escape(display_text(value, kind, where))


def isolated_html(value: Any, kind: str = "name", where: str | None = None) -> str:
    """`isolated` as a plain str."""
    if value is None or value == "":
        return ""
    return "<bdi>" + shown_html(value, kind, where) + "</bdi>"


# A left-to-right value at most this long (an amount, a phone number, a coordinate pair, a time, an IMEI) is
# kept on one line (class "num", white-space: nowrap in report.css): "3,000.0 / 0" must never be printed.
# Longer ones (hashes, key fingerprints, paths) may still wrap, or they would run out of a table's column.
NOWRAP_CHARS = 40


def ltr_html(value: Any, kind: str = "text", where: str | None = None) -> str:
    """`left_to_right` as a plain str."""
    if value is None or value == "":
        return ""
    text = shown_html(value, kind, where)
    if len(text) <= NOWRAP_CHARS:
        return '<span class="ltr num" dir="ltr">' + text + "</span>"
    return '<span class="ltr" dir="ltr">' + text + "</span>"


def text_html(value: Any) -> str:
    """What `{{ value }}` writes in a report template (finalize, then Jinja's escaping), as a plain str."""
    if type(value) is str:
        return shown_html(value, DEFAULT_KIND)
    if value is None or isinstance(value, (bool, int, float)):
        return str(value)
    return shown_html(value, DEFAULT_KIND)


def shown(value: Any, kind: str = DEFAULT_KIND, where: str | None = None) -> Markup:
    """`display_text`, escaped for HTML (safe in element content and in quoted attribute values)."""
    if value is None:
        return Markup("")
    if isinstance(value, Markup):  # markup the report made itself (the map, a join of safe parts)
        return value
    return escape(display_text(value, kind, where))


def isolated(value: Any, kind: str = "name", where: str | None = None) -> Markup:
    """Evidence text that may run right to left (names, paths, free text), isolated from its neighbours."""
    return Markup(isolated_html(value, kind, where))


def left_to_right(value: Any, kind: str = "text", where: str | None = None) -> Markup:
    """Hashes, identifiers, phone numbers, amounts: always left to right, and isolated."""
    return Markup(ltr_html(value, kind, where))


def finalize(value: Any) -> Any:
    """Jinja's last step for every `{{ … }}`: any text not already shaped by a filter above gets the
    default cap and its controls made visible, so no template expression can bypass them."""
    if type(value) is str and len(value) <= TEXT_CHARS and _NOT_PLAIN.search(value) is None:
        return Markup(value)  # short, no control, nothing to escape
    if value is None or isinstance(value, (bool, int, float, Markup)):
        return value
    return shown(value, DEFAULT_KIND)


def listed(values: Any, kind: str = "name", where: str | None = None, ltr: bool = False) -> Markup:
    """A list of evidence values (names, numbers …), each capped and isolated, at most LIST_ITEMS of them.

    `ltr`: the values are identifiers (phone numbers, e-mail addresses), always left to right."""
    items = [v for v in (values or []) if v not in (None, "")]
    wrap = left_to_right if ltr else isolated
    text = Markup(", ").join(wrap(v, kind, where) for v in items[:LIST_ITEMS])
    if len(items) > LIST_ITEMS:
        text += escape(f" … [cut: {len(items) - LIST_ITEMS:,} more; all are in {where or FULL_TEXT_IN}]")
    return text

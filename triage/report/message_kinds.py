"""What a message is, in words: the kind of a message that is not (only) text, what to show for it, its
status and its times, read from the fields the parsers store (docs/times.md for the times).

A bubble must never be empty: a shared pin, a live location, a contact card, a photo without caption, a
call or a system event logged in a chat, a Telegram service message — each says what it is and shows the
values the record holds ("Shared location · 51.007310, 2.101580 · Gravelines"), and anything this module
does not know is said as such ("message type 57 (ephemeral sync) — no text stored"). Statuses are words:
"deleted by sender", "hidden in the app by 'clear chat' (still in the database)", "row found only in the
write-ahead log".

Per message the work is a few dictionary reads: no query. A page's linked positions and contact cards are
read once for the page (`PageLinks`) and carried in the bubble's own copy of `extra` (LINKED).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from sqlalchemy import select

from triage.model.records import Contact, Location

LINKED = "_linked"  # key of a bubble's extra copy (cursor_rows.bubble_extra) holding the page's linked records
CLEAR_CHAT = "hidden in the app by 'clear chat' (still in the database)"
WAL_ONLY = "row found only in the write-ahead log (-wal), not yet in the database file"
LINKED_KINDS = {  # kinds whose values are records of their own, and where those are when not read for the bubble
    "Shared location": "coordinates in the position record linked to this message (records/location.jsonl)",
    "Live location": "coordinates in the position records linked to this message (records/location.jsonl)",
    "Contact card": "the card is a contact record of its own (records/contact.jsonl, app 'whatsapp vcard')",
    "Contact cards": "the cards are contact records of their own (records/contact.jsonl, app 'whatsapp vcard')",
}
TIME_WORDS = {"sent": "sent", "received": "received", "stored": "stored on the phone"}
OTHER_TIMES = ("sent", "received")  # extra keys holding the time a message was not ordered by: {"raw","utc"}

# WhatsApp Android message_type (parsers/whatsapp/codes.py) → words; media kinds show a file
WA_ANDROID = {
    1: "Photo",
    2: "Audio or voice note",
    3: "Video",
    9: "Document",
    13: "GIF",
    20: "Sticker",
    42: "View-once photo",
    43: "View-once video",
    81: "Video note",
    82: "View-once voice note",
    99: "Album",
}
WA_ANDROID_CALLS = {8: "Call logged in the chat", 10: "Missed call logged in the chat", 90: "Call logged in the chat"}
WA_ANDROID_CONTACTS = {4, 14}
WA_ANDROID_LOCATIONS = {5: "Shared location", 16: "Live location"}
WA_DELETED = {15: "Message deleted by its sender — no text kept", 64: "Message deleted by a group admin — no text kept"}
# WhatsApp iOS ZMESSAGETYPE (parsers/whatsapp/ios.py)
WA_IOS = {
    1: "Photo",
    2: "Video",
    3: "Audio or voice note",
    8: "Document",
    11: "GIF",
    15: "Sticker",
    38: "View-once photo",
    39: "View-once video",
    53: "View-once voice note",
    54: "Video note",
    66: "Album",
}
WA_IOS_LOCATION, WA_IOS_CONTACT, WA_IOS_CALL, WA_IOS_SYSTEM = 5, 4, 59, {6, 10}
# Telegram service actions seen most, in words; any other is shown by its constructor name
TELEGRAM_ACTIONS = {
    "messageActionChatCreate": "group created",
    "messageActionChannelCreate": "channel created",
    "messageActionChatAddUser": "member added",
    "messageActionChatDeleteUser": "member removed",
    "messageActionChatJoinedByLink": "member joined by link",
    "messageActionChatEditTitle": "title changed",
    "messageActionChatEditPhoto": "photo changed",
    "messageActionChatDeletePhoto": "photo removed",
    "messageActionPinMessage": "message pinned",
    "messageActionChatMigrateTo": "group upgraded",
    "messageActionChannelMigrateFrom": "group upgraded",
    "messageActionHistoryClear": "history cleared",
    "messageActionScreenshotTaken": "screenshot taken",
    "messageActionContactSignUp": "contact joined Telegram",
    "messageActionSetMessagesTTL": "auto-delete timer set",
    "messageActionGroupCall": "group call",
    "messageActionPaymentSent": "payment sent",
    "messageActionPaymentSentMe": "payment received",
}
TELEGRAM_MEDIA = {
    "messageMediaPhoto": "Photo",
    "messageMediaDocument": "Document",
    "messageMediaPoll": "Poll",
    "messageMediaWebPage": "Link preview",
    "messageMediaDice": "Dice",
    "messageMediaGame": "Game",
    "messageMediaInvoice": "Invoice",
    "messageMediaStory": "Story",
    "messageMediaGiveaway": "Giveaway",
    "messageMediaUnsupported": "Media this app version could not show",
}
TELEGRAM_GEO = {
    "messageMediaGeo": "Shared location",
    "messageMediaGeoLive": "Live location",
    "messageMediaVenue": "Shared place",
}
TELEGRAM_DOCUMENT_KINDS = {"video": "Video", "audio": "Audio", "sticker": "Sticker", "gif": "GIF"}


class Link(NamedTuple):
    """A link among a bubble's values: a linked position's row on the positions pages, its point on the map."""

    href: str
    words: str


@dataclass
class Shown:
    """What a bubble shows besides the text: `what` in the report's words (empty for a plain text message),
    `values` taken from the record (shown capped and isolated: evidence) with the links of linked records
    after their values, and `statuses` in words (`deleted`: the words of a deletion, shown as such)."""

    what: str = ""
    values: list[str | Link] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    deleted: str = ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def size_words(value: Any) -> str | None:
    n = _number(value)
    if n is None or n <= 0:
        return None
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return None


def duration_words(seconds: Any) -> str | None:
    n = _number(seconds)
    if n is None or n <= 0:
        return None
    n = int(n)
    return f"{n // 3600}h {n % 3600 // 60:02d}m {n % 60:02d}s" if n >= 3600 else f"{n // 60}m {n % 60:02d}s"


def describe(m: Any) -> Shown:
    """The kind, values and statuses of one message row (Message record, store row or bubble row; a row read
    without `extra` or `deleted` is described by its other fields)."""
    extra = _dict(getattr(m, "extra", None))
    shown = Shown()
    if m.app == "whatsapp":
        _whatsapp(m, extra, shown)
    elif m.app == "telegram":
        _telegram(m, extra, shown)
    else:
        _sms_family(m, extra, shown)
    _linked(extra, shown)
    if shown.what in LINKED_KINDS and not shown.values:
        shown.values.append(LINKED_KINDS[shown.what])  # a finding's card: no page read the linked record
    if not shown.what and not m.body:
        shown.what = _unknown(m, extra)
    _statuses(m, extra, shown)
    return shown


# -- by app -----------------------------------------------------------------------------------------


def _whatsapp(m: Any, extra: dict[str, Any], shown: Shown) -> None:
    code = extra.get("message_type")
    media = _dict(extra.get("media"))
    android = "generation" in extra  # the iOS parser's codes are another table
    if android:
        if code in WA_ANDROID_LOCATIONS:
            shown.what = WA_ANDROID_LOCATIONS[code]
        elif code in WA_ANDROID_CONTACTS:
            shown.what = "Contact card" if code == 4 else "Contact cards"
            if media.get("name"):  # the legacy table names the card in media_name
                shown.values.append(str(media["name"]))
        elif code in WA_ANDROID_CALLS:
            shown.what = WA_ANDROID_CALLS[code]
            duration = duration_words(media.get("media_duration") or media.get("duration"))
            if duration:
                shown.values.append(f"duration {duration}")
        elif code in WA_DELETED:
            shown.what = WA_DELETED[code]
        elif code == 7 or (m.direction == "system" and not m.body):
            shown.what = "System event"
            action = extra.get("system_action_type")
            if action is None and extra.get("generation") == "legacy" and media.get("size") is not None:
                action = media.get("size")  # the legacy table keeps a system message's action in media_size
            if action is not None:
                shown.values.append(f"action code {action} (raw; its meaning differs between sources)")
        elif code in WA_ANDROID:
            shown.what = WA_ANDROID[code]
            shown.values += _file_values(
                media.get("media_name") or media.get("name") or media.get("file_path"),
                media.get("file_size") or media.get("size"),
                media.get("mime_type"),
                media.get("media_duration") or media.get("duration"),
            )
    else:
        if code == WA_IOS_LOCATION:
            shown.what = "Shared location"
        elif code == WA_IOS_CONTACT:
            shown.what = "Contact card"
            if media.get("ZVCARDNAME"):
                shown.values.append(str(media["ZVCARDNAME"]))
        elif code == 14:
            shown.what = WA_DELETED[15]
        elif code == WA_IOS_CALL:
            shown.what = "Call logged in the chat"
        elif code in WA_IOS_SYSTEM:
            shown.what = "System event"
            if extra.get("group_event_type") is not None:
                shown.values.append(f"group event code {extra['group_event_type']} (raw)")
        elif code in WA_IOS:
            shown.what = WA_IOS[code]
            shown.values += _file_values(
                media.get("ZMEDIALOCALPATH"), media.get("ZFILESIZE"), None, media.get("ZMOVIEDURATION")
            )


def _file_values(name: Any, size: Any, mime: Any, duration: Any) -> list[str]:
    """A media file's name (its path's last part), size, type and duration, those the record has."""
    values = []
    if name:
        values.append(PurePosixPath(str(name)).name or str(name))
    for part in (size_words(size), str(mime) if mime else None, duration_words(duration)):
        if part:
            values.append(part)
    if not name:
        values.append("file not named in the record")
    return values


def _telegram(m: Any, extra: dict[str, Any], shown: Shown) -> None:
    action = _dict(extra.get("action"))
    media = extra.get("media")
    if action:
        name = str(action.get("name") or "")
        base = name.split("_layer")[0]
        if base == "messageActionPhoneCall":
            shown.what = "Call logged in the chat"
            shown.values += [
                x
                for x in (
                    "video" if action.get("video") else "voice",
                    _call_reason(action.get("reason")),
                    duration_words(action.get("duration")),
                )
                if x
            ]
            return
        shown.what = "System event"
        label = TELEGRAM_ACTIONS.get(base)
        shown.values.append(f"{name} ({label})" if label else name or "service message of an unknown kind")
        for key in ("title", "message", "users", "user_id", "inviter_id", "channel_id", "currency", "total_amount"):
            if action.get(key) not in (None, "", []):
                shown.values.append(f"{key}: {action[key]}")
        return
    if isinstance(media, dict):
        _telegram_media(media, shown)
    elif isinstance(media, list):  # iOS Postbox: the kinds of the message's media objects
        kinds = [str(_dict(x).get("type") or "not decoded") for x in media]
        shown.what = "Shared location" if "map" in kinds else "Media"
        others = [k for k in kinds if k != "map"]
        if others:
            shown.values.append(f"media not interpreted: {', '.join(others)}")


def _call_reason(reason: Any) -> str | None:
    if not reason:
        return None
    text = str(reason)
    return text[len("phoneCallDiscardReason") :].lower() if text.startswith("phoneCallDiscardReason") else text


def _telegram_media(media: dict[str, Any], shown: Shown) -> None:
    kind = str(media.get("type") or "")
    if kind in TELEGRAM_GEO:
        shown.what = TELEGRAM_GEO[kind]
        geo = _dict(media.get("geo"))
        lat, lon = _number(geo.get("latitude")), _number(geo.get("longitude"))
        if lat is not None and lon is not None:
            shown.values.append(f"{lat:.6f}, {lon:.6f}")
        shown.values += [str(media[k]) for k in ("title", "address") if media.get(k)]
        if media.get("period"):
            shown.values.append(f"shared for {duration_words(media['period']) or media['period']}")
    elif kind == "messageMediaContact":
        shown.what = "Contact card"
        name = " ".join(str(media[k]) for k in ("first_name", "last_name") if media.get(k))
        shown.values += [x for x in (name, media.get("phone_number")) if x]
    elif kind == "messageMediaDocument":
        doc = _dict(media.get("document"))
        shown.what = (
            "Voice note"
            if media.get("voice") or doc.get("voice")
            else "Video note"
            if media.get("round") or doc.get("round_message")
            else TELEGRAM_DOCUMENT_KINDS.get(str(doc.get("kind")), "Document")
        )
        shown.values += _file_values(doc.get("file_name"), doc.get("size"), doc.get("mime_type"), doc.get("duration"))
    elif kind == "messageMediaPhoto":
        shown.what = "Photo"
        sizes = [_number(_dict(s).get("size")) for s in _dict(media.get("photo")).get("sizes") or []]
        largest = max((s for s in sizes if s), default=None)
        if largest:
            shown.values.append(f"largest stored size {size_words(largest)}")
    elif kind == "messageMediaWebPage":
        shown.what = "Link preview"
        shown.values += [str(media[k]) for k in ("url", "title") if media.get(k)]
    elif kind == "messageMediaDice":
        shown.what = "Dice"
        shown.values += [str(media[k]) for k in ("emoticon", "value") if media.get(k) is not None]
    elif kind:
        shown.what = TELEGRAM_MEDIA.get(kind, "Media")
        if kind not in TELEGRAM_MEDIA:
            shown.values.append(kind)


def _sms_family(m: Any, extra: dict[str, Any], shown: Shown) -> None:
    """SMS, MMS, RCS (Google Messages), iMessage: attachments by type and name; iMessage reactions."""
    attachments = extra.get("attachments")
    if isinstance(attachments, list) and attachments:
        shown.what = "Attachment" if len(attachments) == 1 else f"{len(attachments)} attachments"
        for a in attachments[:10]:
            a = _dict(a)
            name = (
                a.get("name")
                or a.get("fn")
                or a.get("cl")
                or a.get("local_cache_path")
                or a.get("_data")
                or a.get("uri")
            )
            kind = a.get("ct") or a.get("content_type")
            size = size_words(a.get("file_size_bytes"))
            shown.values.append(
                " ".join(str(x) for x in (kind, PurePosixPath(str(name)).name if name else None, size) if x)
                or "attachment not described"
            )
        if len(attachments) > 10:
            shown.values.append(f"… {len(attachments) - 10} more (records/message.jsonl)")
    reaction = extra.get("associated_message_type")
    if isinstance(reaction, int) and 2000 <= reaction < 4000:
        shown.what = "Reaction (tapback)" if reaction < 3000 else "Reaction removed (tapback)"
        shown.values.append(f"associated_message_type {reaction}")


# -- linked records, looked up once per page ---------------------------------------------------------


def _linked(extra: dict[str, Any], shown: Shown) -> None:
    """The page's positions and contact cards tied to this message (PageLinks)."""
    linked = _dict(extra.get(LINKED))
    for loc in linked.get("locations") or []:
        values = [f"{loc['latitude']:.6f}, {loc['longitude']:.6f}"]
        if loc.get("label"):
            values.append(str(loc["label"]))
        if "last position" in str(loc.get("origin") or ""):
            values.insert(0, "last position")
        duration = duration_words(_dict(loc.get("extra")).get("live_location_share_duration"))
        if duration:
            values.append(f"shared for {duration}")
        shown.values += values + [Link(href, words) for href, words in loc.get("links") or []]
        if not shown.what:
            shown.what = "Shared location"
    for card in linked.get("contacts") or []:
        numbers = ", ".join(str(n) for n in (card.get("phone_numbers") or [])[:5])
        shown.values.append(", ".join(x for x in (str(card.get("name") or "no name"), numbers) if x))
        if not shown.what:
            shown.what = "Contact card"


def _unknown(m: Any, extra: dict[str, Any]) -> str:
    code, name = extra.get("message_type"), extra.get("message_type_name")
    if code is not None:
        return f"message type {code} ({name or 'no name known'}) — no text stored"
    if m.app == "telegram" and extra.get("decoded") in ("none", "partial"):
        return f"message blob decoded {extra['decoded']} — no text read"
    if m.direction == "system":
        return "System event — no text stored"
    return "no text stored"


def _statuses(m: Any, extra: dict[str, Any], shown: Shown) -> None:
    if getattr(m, "deleted", False) or extra.get("revoked"):
        shown.deleted = _deletion(m, extra)
    if extra.get("hidden_by_app"):
        shown.statuses.append(CLEAR_CHAT)
    if extra.get("wal_only"):
        shown.statuses.append(WAL_ONLY)
    edited = extra.get("edited") or extra.get("date_edited")
    if edited:
        utc = _dict(edited).get("utc")
        shown.statuses.append(f"edited at {utc}" if utc else "edited")
    forwarded = extra.get("forwarded")
    if forwarded:
        origin = _dict(forwarded).get("from_name") or _dict(forwarded).get("from_id")
        shown.statuses.append(f"forwarded from {origin}" if origin else "forwarded")
    quoted = _dict(extra.get("quoted"))
    if quoted:
        shown.statuses.append("reply to: " + str(quoted.get("text") or f"message {quoted.get('key_id')}"))
    elif extra.get("quoted_row_id"):
        shown.statuses.append(f"reply to message row {extra['quoted_row_id']}")
    reply = _dict(extra.get("reply_to"))
    if reply.get("reply_to_msg_id"):  # 0: no reply (layers ≤ 118 store a bare 0)
        shown.statuses.append(f"reply to message id {reply['reply_to_msg_id']}")
    for key, words in (
        ("filtered_as_spam", "kept by the phone's spam filter"),
        ("scheduled", "scheduled, not sent"),
        ("starred", "starred"),
    ):
        if extra.get(key):
            shown.statuses.append(words)


def _deletion(m: Any, extra: dict[str, Any]) -> str:
    code = extra.get("message_type")
    if m.app == "whatsapp" and code == 64:
        return "deleted by a group admin"
    if m.app == "whatsapp" or extra.get("date_retracted"):
        return "deleted by sender" if m.app == "whatsapp" else "unsent by sender"
    return "deleted"


# -- plain text messages, told from their stored JSON without decoding it -----------------------------

# Every key of `extra` that describe(), the statuses or a bubble's translation read, besides the four a
# conversation page's query extracts (time_is, sent.utc, received.utc, message_type: stream.bubble_rows).
# A message whose JSON text names none of them (as a key or anywhere else), with text and not deleted, is
# plain: describe() says nothing of it. Nine in ten of a phone's messages are; the pages then skip decoding
# their JSON. A key written with an escaped ASCII letter (json.dumps never writes one) counts as named.
KIND_KEYS = (
    "action",
    "media",
    "attachments",
    "associated_message_type",
    LINKED,
    "revoked",
    "hidden_by_app",
    "wal_only",
    "edited",
    "date_edited",
    "forwarded",
    "quoted",
    "quoted_row_id",
    "reply_to",
    "filtered_as_spam",
    "scheduled",
    "starred",
    "translation",
)
# KIND_KEYS as one search, written as a tree of their letters (the search is then three times faster than
# a plain alternation); tests/report/test_message_kinds.py checks it finds each key and no other
_NAMES_A_KIND_KEY = re.compile(
    '"(?:a(?:ction|ttachments|ssociated_message_type)|media|_linked|revoked|hidden_by_app|wal_only|edited'
    '|date_edited|forwarded|quoted(?:_row_id)?|reply_to|filtered_as_spam|s(?:cheduled|tarred)|translation)"'
)


def is_plain(body: Any, deleted: Any, extra_text: Any, message_type: Any, sent_utc: Any, received_utc: Any) -> bool:
    """A message describe() says nothing of, its other times text (or none): the bubble needs only the
    extracted values. `extra_text` is `extra` as stored (JSON text); the rest are a row's own values."""
    return (
        bool(body)
        and not deleted
        and type(extra_text) is str
        and (message_type is None or (type(message_type) is int and message_type == 0))
        and (sent_utc is None or type(sent_utc) is str)
        and (received_utc is None or type(received_utc) is str)
        and "\\u00" not in extra_text  # an escaped ASCII letter could spell a key; so could a Latin-1 one
        and _NAMES_A_KIND_KEY.search(extra_text) is None
    )


# -- times -----------------------------------------------------------------------------------------


def time_label(extra: Any) -> str | None:
    """Which moment `time` is ("sent", "received", "stored on the phone"), when the parser said."""
    return TIME_WORDS.get(str(_dict(extra).get("time_is")))


def other_times(extra: Any) -> list[tuple[str, str]]:
    """(words, UTC text) of the times kept beside the one the message is ordered by."""
    extra = _dict(extra)
    moment = extra.get("time_is")
    return [
        (TIME_WORDS[key], str(_dict(extra.get(key)).get("utc")))
        for key in OTHER_TIMES
        if key != moment and _dict(extra.get(key)).get("utc")
    ]


# -- a page's linked records -----------------------------------------------------------------------


def _wants_location(m: Any) -> bool:
    extra = _dict(m.extra)
    code = extra.get("message_type")
    if m.app == "whatsapp":
        return code in (WA_ANDROID_LOCATIONS if "generation" in extra else {WA_IOS_LOCATION})
    return m.app == "telegram" and isinstance(extra.get("media"), list)  # iOS Postbox: positions are records


def _wants_contact(m: Any) -> bool:
    extra = _dict(m.extra)
    return m.app == "whatsapp" and "generation" in extra and extra.get("message_type") in WA_ANDROID_CONTACTS


class PageLinks:
    """The positions and WhatsApp contact cards tied to the messages of each conversation page, put into their
    bubble extras (LINKED). Made once for the pages: it keeps where each positions page starts (one read of
    the position ids, a key per page) and the shared cards by message (a phone has few), so a page costs one
    indexed query, and only when it holds a location message."""

    def __init__(self, session: Any, positions_per_page: int, map_keys: dict[int, str]) -> None:
        self.session = session
        self.per_page = positions_per_page
        self.map_keys = map_keys
        self.page_starts: list[int] | None = None  # first position id of each positions page
        self.cards: dict[tuple[Any, str], list[dict[str, Any]]] | None = None

    def attach(self, chunk: Iterable[Any]) -> None:
        """`chunk`: a page's rows, whose `extra` is the bubble's own copy (cursor_rows.bubble_extra)."""
        rows = [m for m in chunk if isinstance(m.extra, dict)]
        located = {m.id: m for m in rows if _wants_location(m)}
        if located:
            self._attach_positions(located)
        carded = [m for m in rows if _wants_contact(m)]
        if carded:
            cards = self._cards()
            for m in carded:
                for card in cards.get((m.source_file_id, str(m.source_row)), []):
                    m.extra.setdefault(LINKED, {}).setdefault("contacts", []).append(card)

    def _attach_positions(self, located: dict[int, Any]) -> None:
        table = Location.__table__
        if self.page_starts is None:  # the query below reads ix_report_location_message (stream.REPORT_INDEXES)
            ids = self.session.execute(select(table.c.id).order_by(table.c.id)).scalars()
            self.page_starts = [i for n, i in enumerate(ids) if n % self.per_page == 0]
        statement = (
            select(
                table.c.id,
                table.c.message_id,
                table.c.latitude,
                table.c.longitude,
                table.c.label,
                table.c.origin,
                table.c.extra,
            )
            .where(table.c.message_id.in_(list(located)))
            .order_by(table.c.id)
        )
        for loc in self.session.execute(statement):
            # the positions pages list every record in id order, per_page a page
            links = [
                (f"locations-{max(1, bisect_right(self.page_starts, loc.id))}.html#loc-{loc.id}", f"position #{loc.id}")
            ]
            if loc.id in self.map_keys:
                links.append((f"../index.html#map-{self.map_keys[loc.id]}", f"{self.map_keys[loc.id]} on the map"))
            located[loc.message_id].extra.setdefault(LINKED, {}).setdefault("locations", []).append(
                {
                    "latitude": loc.latitude,
                    "longitude": loc.longitude,
                    "label": loc.label,
                    "origin": loc.origin,
                    "extra": loc.extra if isinstance(loc.extra, dict) else {},
                    "links": links,
                }
            )

    def _cards(self) -> dict[tuple[Any, str], list[dict[str, Any]]]:
        """WhatsApp's shared contact cards by (source file, message row id): read once, on first need."""
        if self.cards is None:
            self.cards = {}
            table = Contact.__table__
            statement = (
                select(table.c.name, table.c.phone_numbers, table.c.extra, table.c.source_file_id)
                .where(table.c.app == "whatsapp vcard")
                .order_by(table.c.id)
            )
            for card in self.session.execute(statement):
                extra = card.extra if isinstance(card.extra, dict) else {}
                if extra.get("message_row_id") is not None:
                    self.cards.setdefault((card.source_file_id, str(extra["message_row_id"])), []).append(
                        {"name": card.name, "phone_numbers": card.phone_numbers or []}
                    )
        return self.cards

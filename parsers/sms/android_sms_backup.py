"""SMS and MMS from the Android telephony provider's own backup files (`TelephonyBackupAgent`):
`<n>_sms_backup` and `<n>_mms_backup` in the provider's `files` folder (tar token `d_f` in an `.ab`),
each a zlib-compressed JSON list with one object per message.

Values are strings as the agent writes them. SMS `date`/`date_sent` are Unix milliseconds; MMS
`date`/`date_sent` are Unix seconds (as in the `pdu` table). Provenance: table `sms_backup` or
`mms_backup`, row = the message's index in the JSON list.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Parser
from parsers.sms.android_mms import ADDR_BCC, ADDR_CC, ADDR_FROM, ADDR_TO, MSG_BOX, OWN_NUMBER_TOKEN
from parsers.sms.android_sms import SMS_TYPES
from triage.evidence import FileEntry
from triage.model.records import Base, Message, build, times
from triage.model.timeutil import decode, iso

MAX_JSON_BYTES = 256 << 20  # inflated size at which a backup file is treated as a zlib bomb
SMS_KNOWN = {"address", "body", "date", "date_sent", "type", "read", "status", "recipients"}
MMS_KNOWN = {"date", "date_sent", "msg_box", "read", "recipients", "mms_addresses", "mms_body", "mms_charset"}


class AndroidSmsBackupParser(Parser):
    name = "android_sms_backup"
    description = "Android telephony backup files (*_sms_backup / *_mms_backup, zlib JSON)"
    app = "SMS/MMS (telephony provider)"
    platform = "Android"
    produces = (Message,)
    order = 270
    fixtures = ("fixtures/build_android_backup.py",)
    path_patterns = ("*_sms_backup", "*_mms_backup")

    def accepts(self, entry: FileEntry, header: bytes) -> bool:
        # a zlib stream starts with CMF 0x78 (deflate, 32 KiB window)
        return self.path_matches(entry) and header[:1] == b"\x78"

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        items = self._load(ctx)
        if items is None:
            return
        mms = ctx.entry.name.lower().endswith("_mms_backup")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                ctx.warn(f"entry {index} is a {type(item).__name__}, not an object; skipped")
                continue
            yield self._mms(item, index, ctx) if mms else self._sms(item, index, ctx)

    def _load(self, ctx: ParseContext) -> list | None:
        with ctx.open() as f:
            packed = f.read()
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(packed, MAX_JSON_BYTES)
        except zlib.error as e:
            ctx.warn(f"not a zlib stream ({e}); not read")
            return None
        if inflater.unconsumed_tail:
            ctx.warn(f"inflates to more than {MAX_JSON_BYTES} bytes; not read (a zlib bomb or not a backup file)")
            return None
        if not inflater.eof:
            ctx.warn("truncated: the zlib stream ends early; the JSON is read only if it is complete")
        try:
            items = json.loads(data.decode("utf-8", errors="replace"))
        except ValueError as e:
            ctx.warn(f"not JSON after inflating ({e}); not read")
            return None
        if not isinstance(items, list):
            ctx.warn(f"JSON is a {type(items).__name__}, not a list of messages; not read")
            return None
        return items

    def _sms(self, item: dict[str, Any], index: int, ctx: ParseContext) -> Message:
        code = _int(item.get("type"))
        direction, status = (
            SMS_TYPES.get(code, ("unknown", f"type {item.get('type')}"))
            if code is not None
            else ("unknown", "type missing")
        )
        if code not in SMS_TYPES:
            ctx.warn(f"sms_backup[{index}]: unknown type {item.get('type')!r}, direction left unknown")
        address = _text(item.get("address"))
        sent = decode(_int(item.get("date_sent")), "unix_ms")
        extra: dict[str, Any] = {"status_code": item["status"]} if "status" in item else {}
        recipients = _strings(item.get("recipients"))
        if recipients:
            extra["recipients"] = recipients
        extra.update({k: v for k, v in item.items() if k not in SMS_KNOWN})  # kept as stored
        extra.update(_time_is(direction, sent))
        return build(
            Message,
            app="sms",
            thread=None,
            direction=direction,
            counterpart=address,
            sender=address if direction == "incoming" else None,
            body=_text(item.get("body")),
            **times("time", _decode(item.get("date"), "unix_ms", index, "sms_backup", ctx)),
            **(times("sent", sent) if sent.utc else {}),
            status=status,
            read=_flag(item.get("read")),
            extra=extra,
            source_table="sms_backup",
            source_row=str(index),
        )

    def _mms(self, item: dict[str, Any], index: int, ctx: ParseContext) -> Message:
        box = _int(item.get("msg_box"))
        direction, status = (
            MSG_BOX.get(box, ("unknown", f"msg_box {item.get('msg_box')}"))
            if box is not None
            else ("unknown", "msg_box missing")
        )
        if box not in MSG_BOX:
            ctx.warn(f"mms_backup[{index}]: unknown msg_box {item.get('msg_box')!r}, direction left unknown")
        by_type = self._addresses(item, index, ctx)
        sender = next((a for a in by_type.get(ADDR_FROM, []) if a != OWN_NUMBER_TOKEN), None)
        to = [a for t in (ADDR_TO, ADDR_CC, ADDR_BCC) for a in by_type.get(t, []) if a != OWN_NUMBER_TOKEN]
        recipients = to or _strings(item.get("recipients"))
        extra: dict[str, Any] = {"recipients": recipients} if recipients else {}
        if "mms_charset" in item:
            extra["mms_charset"] = item["mms_charset"]
        extra.update({k: v for k, v in item.items() if k not in MMS_KNOWN})
        sent = decode(_int(item.get("date_sent")), "unix_s")
        extra.update(_time_is(direction, sent))
        body = _text(item.get("mms_body"))
        if body is None and "mms_body" not in item:
            ctx.warn(f"mms_backup[{index}]: no text part (mms_body) in the backup; attachments are not in this file")
        return build(
            Message,
            app="mms",
            thread=None,
            direction=direction,
            counterpart=sender if direction == "incoming" else (recipients[0] if recipients else None),
            sender=sender if direction == "incoming" else None,
            body=body,
            **times("time", _decode(item.get("date"), "unix_s", index, "mms_backup", ctx)),
            **(times("sent", sent) if sent.utc else {}),
            status=status,
            read=_flag(item.get("read")),
            extra=extra,
            source_table="mms_backup",
            source_row=str(index),
        )

    def _addresses(self, item: dict[str, Any], index: int, ctx: ParseContext) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        raw = item.get("mms_addresses") or []
        for a in raw if isinstance(raw, list) else []:
            if isinstance(a, dict) and _int(a.get("type")) is not None and _text(a.get("address")):
                found.setdefault(_int(a.get("type")), []).append(_text(a.get("address")))  # type: ignore[arg-type]
            else:
                ctx.warn(f"mms_backup[{index}]: address entry {a!r} has no type/address; not used")
        return found


def _time_is(direction: str, sent: Any) -> dict[str, Any]:
    """The backup copies the provider's columns (android_sms.py, android_mms.py): `date` is when the phone
    stored the message (on arrival for a received one), `date_sent` the sender's time of a received one."""
    moment: dict[str, Any] = {"time_is": "received" if direction == "incoming" else "stored"}
    if sent.utc:
        moment["sent"] = {"raw": sent.raw, "utc": iso(sent.utc)}
    return moment


def _decode(value: object, encoding: str, index: int, table: str, ctx: ParseContext):  # noqa: ANN202
    ts = decode(_int(value), encoding)
    if value not in (None, "", "0", 0) and ts.utc is None:
        ctx.warn(f"{table}[{index}]: date {value!r} cannot be read as {encoding}; kept raw")
        return decode(str(value), encoding) if _int(value) is None else ts
    return ts


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _flag(value: object) -> bool | None:
    number = _int(value)
    return None if number is None else bool(number)


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []

"""WhatsApp code tables shared by the Android and iOS parsers (docs/formats/whatsapp.md "Code tables").
Unknown codes are always reported raw: WhatsApp adds codes continually."""

MESSAGE_TYPES: dict[int, str] = {
    0: "text",
    1: "image",
    2: "audio",
    3: "video",
    4: "vcard",
    5: "location",
    7: "system",
    8: "call",
    9: "document",
    10: "missed call",
    11: "waiting for message",
    13: "gif",
    14: "vcards",
    15: "deleted by sender",
    16: "live location",
    20: "sticker",
    23: "group invite",
    24: "group invite",
    25: "list",
    26: "list reply",
    27: "buttons",
    28: "whatsapp official",
    32: "group invite",
    36: "ephemeral setting",
    42: "view-once image",
    43: "view-once video",
    45: "interactive",
    46: "poll vote",
    49: "call to action",
    55: "carousel",
    57: "ephemeral sync",
    62: "product",
    64: "deleted by admin",
    66: "poll",
    81: "video note",
    82: "view-once voice",
    90: "call log",
    92: "event",
    99: "album",
    103: "status mention",
    116: "status update",
}
LOCATION_TYPES = {5, 16}
DELETED_TYPES = {15, 64}
# keyed by int; looked up with call_log.call_result, which may be NULL and then finds nothing
CALL_RESULTS: dict[int | None, str] = {
    0: "connected or ringing",
    2: "missed",
    3: "unavailable",
    4: "rejected",
    5: "answered",
    7: "busy",
    8: "joined voice chat",
}


def type_name(code: int | None) -> str:
    if code is None:
        return "unknown"
    return MESSAGE_TYPES.get(code, f"type {code}")


def jid_phone(jid: str | None) -> str | None:
    """The phone number in a user JID ('447911123456@s.whatsapp.net' → '+447911123456')."""
    if not jid or "@" not in jid:
        return None
    user, server = jid.split("@", 1)
    user = user.split(".", 1)[0].split(":", 1)[0]  # device JIDs: 4479….0:0@s.whatsapp.net
    if server not in ("s.whatsapp.net", "c.us") or not user.isdigit():
        return None
    return "+" + user


def is_group(jid: str | None) -> bool:
    return jid is not None and jid.endswith("@g.us")

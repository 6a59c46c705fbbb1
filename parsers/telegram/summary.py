"""Plain, JSON-ready summaries of decoded TL objects: the fields an examiner reads in a report.

Every value here is copied from the decoded object; nothing is derived except names of peers and
the coordinates of a GeoPoint (read as TL stores them: longitude first, then latitude).
"""

from __future__ import annotations

import math
from typing import Any

from parsers.telegram.peers import peer_key

GEO_MEDIA = {
    "messageMediaGeo": "location",
    "messageMediaGeoLive": "live location",
    "messageMediaGeoLive_layer119": "live location",
    "messageMediaVenue": "venue",
    "messageMediaVenue_layer71": "venue",
}
CONTACT_MEDIA = ("messageMediaContact", "messageMediaContact_layer132", "messageMediaContact_layer81")
DISCARD_REASONS = {
    "phoneCallDiscardReasonMissed": "missed",
    "phoneCallDiscardReasonDisconnect": "disconnected",
    "phoneCallDiscardReasonHangup": "hangup",
    "phoneCallDiscardReasonBusy": "busy",
}


def base_name(obj: dict[str, Any] | None) -> str:
    """A constructor's name without its layer suffix ('message_layer131' → 'message')."""
    name = (obj or {}).get("_", "")
    return name.split("_layer")[0].split("_current")[0]


def geo_point(geo: Any) -> dict[str, Any] | None:
    """{'latitude', 'longitude', 'accuracy_m'} of a GeoPoint, or None for geoPointEmpty/unknown."""
    if not isinstance(geo, dict) or "lat" not in geo or "long" not in geo:
        return None
    lat, lon = geo["lat"], geo["long"]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"latitude": lat, "longitude": lon, "accuracy_m": geo.get("accuracy_radius")}


def document_summary(doc: Any) -> dict[str, Any] | None:
    if not isinstance(doc, dict) or "id" not in doc:
        return None
    out = {k: doc[k] for k in ("id", "mime_type", "size", "date", "dc_id") if k in doc}
    for attr in doc.get("attributes") or []:
        name = base_name(attr)
        if name == "documentAttributeFilename":
            out["file_name"] = attr.get("file_name")
        elif name in ("documentAttributeVideo", "documentAttributeAudio"):
            out.update(
                {
                    k: attr[k]
                    for k in ("duration", "w", "h", "title", "performer", "voice", "round_message")
                    if k in attr
                }
            )
            out["kind"] = "video" if name == "documentAttributeVideo" else "audio"
        elif name == "documentAttributeImageSize":
            out.update({"w": attr.get("w"), "h": attr.get("h")})
        elif name == "documentAttributeSticker":
            out["kind"] = "sticker"
        elif name == "documentAttributeAnimated":
            out["kind"] = "gif"
    return out


def photo_summary(photo: Any) -> dict[str, Any] | None:
    if not isinstance(photo, dict) or "id" not in photo:
        return None
    sizes = [
        {k: s[k] for k in ("type", "w", "h", "size") if k in s} for s in photo.get("sizes") or [] if isinstance(s, dict)
    ]
    return {**{k: photo[k] for k in ("id", "date", "dc_id") if k in photo}, "sizes": sizes}


def media_summary(media: Any) -> dict[str, Any] | None:
    """The media of a message as a plain dict (type, document/photo metadata, venue fields …)."""
    if not isinstance(media, dict):
        return None
    name = base_name(media)
    out: dict[str, Any] = {"type": name, "constructor": media.get("_id")}
    if name == "messageMediaPhoto":
        out["photo"] = photo_summary(media.get("photo"))
    elif name == "messageMediaDocument":
        out["document"] = document_summary(media.get("document"))
        out.update({k: True for k in ("voice", "round", "video") if media.get(k)})
    elif name in GEO_MEDIA:
        out["geo"] = geo_point(media.get("geo"))
        out.update(
            {
                k: media[k]
                for k in (
                    "title",
                    "address",
                    "provider",
                    "venue_id",
                    "venue_type",
                    "period",
                    "heading",
                    "proximity_notification_radius",
                )
                if k in media
            }
        )
    elif name == "messageMediaContact":
        out.update({k: media[k] for k in ("phone_number", "first_name", "last_name", "vcard", "user_id") if k in media})
    elif name == "messageMediaWebPage":
        page = media.get("webpage") or {}
        out.update({k: page[k] for k in ("url", "display_url", "site_name", "title") if k in page})
    elif name == "messageMediaDice":
        out.update({k: media[k] for k in ("value", "emoticon") if k in media})
    for key in ("ttl_seconds", "caption"):
        if key in media:
            out[key] = media[key]
    return {k: v for k, v in out.items() if v is not None}


def forward_summary(fwd: Any) -> dict[str, Any] | None:
    if not isinstance(fwd, dict):
        return None
    out = {
        k: fwd[k]
        for k in (
            "from_name",
            "date",
            "channel_post",
            "post_author",
            "saved_from_msg_id",
            "psa_type",
            "saved_from_name",
            "saved_date",
        )
        if k in fwd
    }
    for key in ("from_id", "saved_from_peer", "saved_from_id"):
        if key in fwd:
            out[key] = peer_key(fwd[key])
    return out


def reply_summary(message: dict[str, Any]) -> dict[str, Any] | None:
    if "reply_to_msg_id" in message:  # ≤ layer 118: a bare int
        return {"reply_to_msg_id": message["reply_to_msg_id"]}
    reply = message.get("reply_to")
    if not isinstance(reply, dict):
        return None
    out = {
        k: reply[k] for k in ("reply_to_msg_id", "reply_to_top_id", "quote_text", "story_id", "user_id") if k in reply
    }
    for key in ("reply_to_peer_id", "peer"):
        if key in reply:
            out[key] = peer_key(reply[key])
    return out


def action_summary(action: Any) -> dict[str, Any] | None:
    """A service action with its raw constructor name and id, and its scalar fields."""
    if not isinstance(action, dict):
        return None
    out: dict[str, Any] = {"name": action.get("_"), "constructor": action.get("_id")}
    for key, value in action.items():
        if key.startswith("_") or key == "flags":
            continue
        if isinstance(value, dict):
            out[key] = peer_key(value) or value.get("_")
        else:
            out[key] = value
    return out


def jsonable(value: Any) -> Any:
    """Decoded values are already JSON types (bytes come back as hex); floats that are not finite
    are kept as their repr so a JSON writer never fails."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value

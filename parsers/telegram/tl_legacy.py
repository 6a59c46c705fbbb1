"""Constructors of layers other than 190 that Telegram for Android keeps in cache4.db, in TL syntax.

Sources (facts, not code): DrKLO/Telegram `TL_legacy_message.java` @86bb0dbc (message layers
118–226, read order checked field by field), docs/formats/telegram.md "Peers and dialog ids",
"Message constructors", "Headers and media", "User records" (peers, media, users, service messages,
reply/forward headers). Entries marked `prefix_only` give only the leading fields of a
layout (e.g. a user up to its phone number): the decoder stops after them and says so.

Each entry: (TL line, layer it was last used in, prefix_only).
"""

from __future__ import annotations

# message flag bits that carry no payload (docs/formats/telegram.md "Message constructors")
_BOOLS = (
    "out:flags.1?true mentioned:flags.4?true media_unread:flags.5?true silent:flags.13?true "
    "post:flags.14?true from_scheduled:flags.18?true legacy:flags.19?true edit_hide:flags.21?true"
)
_BOOLS_131 = _BOOLS + " pinned:flags.24?true"
_BOOLS_135 = _BOOLS_131 + " noforwards:flags.26?true"
_BOOLS_169 = _BOOLS_135 + " invert_media:flags.27?true"
_BOOLS2 = "offline:flags2.1?true"
_BOOLS2_195 = _BOOLS2 + " video_processing_pending:flags2.4?true"
_BOOLS2_216 = _BOOLS2_195 + " paid_suggested_post_stars:flags2.8?true paid_suggested_post_ton:flags2.9?true"

_TEXT = (
    "date:int message:string media:flags.9?MessageMedia reply_markup:flags.6?ReplyMarkup "
    "entities:flags.7?Vector<MessageEntity> views:flags.10?int forwards:flags.10?int"
)
_REPLIES = "replies:flags.23?MessageReplies"
_TAIL_118 = (
    "edit_date:flags.15?int post_author:flags.16?string grouped_id:flags.17?long "
    "restriction_reason:flags.22?Vector<RestrictionReason>"
)
_TAIL_169 = (
    "edit_date:flags.15?int post_author:flags.16?string grouped_id:flags.17?long "
    "reactions:flags.20?MessageReactions restriction_reason:flags.22?Vector<RestrictionReason> "
    "ttl_period:flags.25?int"
)
_TAIL_131 = _TAIL_118 + " ttl_period:flags.25?int"
_TAIL_176 = _TAIL_169 + " quick_reply_shortcut_id:flags.30?int"
_TAIL_195 = _TAIL_176 + " effect:flags2.2?long factcheck:flags2.3?FactCheck"
_TAIL_199 = _TAIL_195 + " report_delivery_until_date:flags2.5?int"
_TAIL_205 = _TAIL_199 + " paid_message_stars:flags2.6?long"
_TAIL_216 = _TAIL_205 + " suggested_post:flags2.7?SuggestedPost"
_TAIL_220 = _TAIL_216 + " schedule_repeat_period:flags2.10?int"
_TAIL_222 = _TAIL_220 + " summary_from_language:flags2.11?string"

_HEAD_179 = "from_id:flags.8?Peer from_boosts_applied:flags.29?int"
_PEER_173 = "peer_id:Peer saved_peer_id:flags.28?Peer fwd_from:flags.2?MessageFwdHeader via_bot_id:flags.11?long"
_BIZ = "via_business_bot_id:flags2.0?long"


def _message2(cid: str, bools2: str, head: str, biz: str, tail: str, layer: str) -> tuple[str, str, bool]:
    return (
        f"message_layer{layer}#{cid} flags:# {_BOOLS_169} flags2:# {bools2} id:int {head} {_PEER_173} {biz} "
        f"reply_to:flags.3?MessageReplyHeader {_TEXT} {_REPLIES} {tail} = Message;",
        layer,
        False,
    )


MESSAGES = [
    # the current TL_message: same read order as layer 226 (docs/formats/telegram.md "Message constructors";
    # ALEAPP 2026-10) — unverified tail
    (
        f"message_current#7600b9d3 flags:# {_BOOLS_169} flags2:# {_BOOLS2_216} id:int {_HEAD_179} "
        f"from_rank:flags2.12?string {_PEER_173} {_BIZ} guestchat_via_from:flags2.19?Peer "
        f"reply_to:flags.3?MessageReplyHeader {_TEXT} {_REPLIES} {_TAIL_222} = Message;",
        "227",
        False,
    ),
    (
        f"message_layer226#95ef6f2b flags:# {_BOOLS_169} flags2:# {_BOOLS2_216} id:int {_HEAD_179} "
        f"from_rank:flags2.12?string {_PEER_173} {_BIZ} guestchat_via_from:flags2.19?Peer "
        f"reply_to:flags.3?MessageReplyHeader {_TEXT} {_REPLIES} {_TAIL_222} = Message;",
        "226",
        False,
    ),
    _message2("3ae56482", _BOOLS2_216, _HEAD_179 + " from_rank:flags2.12?string", _BIZ, _TAIL_222, "224"),
    _message2("9cb490e9", _BOOLS2_216, _HEAD_179, _BIZ, _TAIL_222, "222"),
    _message2("b92f76cf", _BOOLS2_216, _HEAD_179, _BIZ, _TAIL_220, "220"),
    _message2("9815cec8", _BOOLS2_216, _HEAD_179, _BIZ, _TAIL_216, "216"),
    _message2("eabcdd4d", _BOOLS2_195, _HEAD_179, _BIZ, _TAIL_205, "205"),
    _message2("96fdbbe9", _BOOLS2_195, _HEAD_179, _BIZ, _TAIL_199, "199"),
    _message2("bde09c2e", _BOOLS2, _HEAD_179, _BIZ, _TAIL_176 + " effect:flags2.2?long", "180"),
    _message2("2357bf25", _BOOLS2, _HEAD_179, _BIZ, _TAIL_176, "179"),
    (
        f"message_layer176#a66c7efc flags:# {_BOOLS_169} id:int {_HEAD_179} {_PEER_173} "
        f"reply_to:flags.3?MessageReplyHeader {_TEXT} {_REPLIES} {_TAIL_176} = Message;",
        "176",
        False,
    ),
    (
        f"message_layer175#1e4c8a69 flags:# {_BOOLS_169} id:int {_HEAD_179} {_PEER_173} "
        f"reply_to:flags.3?MessageReplyHeader {_TEXT} {_REPLIES} {_TAIL_169} = Message;",
        "175",
        False,
    ),
    (
        f"message_layer173#76bec211 flags:# {_BOOLS_169} id:int from_id:flags.8?Peer {_PEER_173} "
        f"reply_to:flags.3?MessageReplyHeader {_TEXT} {_REPLIES} {_TAIL_169} = Message;",
        "173",
        False,
    ),
    (
        f"message_layer169#38116ee0 flags:# {_BOOLS_169} id:int from_id:flags.8?Peer peer_id:Peer "
        f"fwd_from:flags.2?MessageFwdHeader via_bot_id:flags.11?long reply_to:flags.3?MessageReplyHeader "
        f"{_TEXT} {_REPLIES} {_TAIL_169} = Message;",
        "169",
        False,
    ),
    (
        f"message_layer135#85d6cbe2 flags:# {_BOOLS_135} id:int from_id:flags.8?Peer peer_id:Peer "
        f"fwd_from:flags.2?MessageFwdHeader via_bot_id:flags.11?long reply_to:flags.3?MessageReplyHeader "
        f"{_TEXT} {_REPLIES} {_TAIL_131} = Message;",
        "135",
        False,
    ),
    # ≤ layer 132: via_bot_id is an int; peers may be the 32-bit _layer132 constructors
    (
        f"message_layer131#bce383d2 flags:# {_BOOLS_131} id:int from_id:flags.8?Peer peer_id:Peer "
        f"fwd_from:flags.2?MessageFwdHeader via_bot_id:flags.11?int reply_to:flags.3?MessageReplyHeader "
        f"{_TEXT} {_REPLIES} {_TAIL_131} = Message;",
        "131",
        False,
    ),
    (
        f"message_layer123#58ae39c9 flags:# {_BOOLS_131} id:int from_id:flags.8?Peer peer_id:Peer "
        f"fwd_from:flags.2?MessageFwdHeader via_bot_id:flags.11?int reply_to:flags.3?MessageReplyHeader "
        f"{_TEXT} {_REPLIES} {_TAIL_118} = Message;",
        "123",
        False,
    ),
    # ≤ 118: bare int32 sender and reply-to message id, `to_id` instead of peer_id
    (
        f"message_layer118#f52e6b7f flags:# {_BOOLS} id:int from_id:flags.8?int to_id:Peer "
        f"fwd_from:flags.2?MessageFwdHeader via_bot_id:flags.11?int reply_to_msg_id:flags.3?int "
        f"{_TEXT} {_TAIL_118} = Message;",
        "118",
        False,
    ),
    ("messageEmpty_layer122#83e5de54 id:int = Message;", "122", False),
]

_SERVICE_BOOLS = (
    "out:flags.1?true mentioned:flags.4?true media_unread:flags.5?true silent:flags.13?true "
    "post:flags.14?true legacy:flags.19?true"
)
SERVICE = [
    (
        f"messageService_current#7a800e0a flags:# {_SERVICE_BOOLS} id:int from_id:flags.8?Peer peer_id:Peer "
        "saved_peer_id:flags.28?Peer reply_to:flags.3?MessageReplyHeader date:int action:MessageAction "
        "reactions:flags.20?MessageReactions ttl_period:flags.25?int = Message;",
        "205",
        False,
    ),
    (
        f"messageService_layer204#d3d28540 flags:# {_SERVICE_BOOLS} id:int from_id:flags.8?Peer peer_id:Peer "
        "reply_to:flags.3?MessageReplyHeader date:int action:MessageAction reactions:flags.20?MessageReactions "
        "ttl_period:flags.25?int = Message;",
        "204",
        False,
    ),
    (
        f"messageService_layer123#286fa604 flags:# {_SERVICE_BOOLS} id:int from_id:flags.8?Peer peer_id:Peer "
        "reply_to:flags.3?MessageReplyHeader date:int action:MessageAction = Message;",
        "123",
        False,
    ),
    (
        f"messageService_layer118#9e19a1f6 flags:# {_SERVICE_BOOLS} id:int from_id:flags.8?int to_id:Peer "
        "reply_to_msg_id:flags.3?int date:int action:MessageAction = Message;",
        "118",
        False,
    ),
]

PEERS = [
    ("peerUser_layer132#9db1bc6d user_id:int = Peer;", "132", False),
    ("peerChat_layer132#bad0e5bb chat_id:int = Peer;", "132", False),
    ("peerChannel_layer132#bddde532 channel_id:int = Peer;", "132", False),
]

HEADERS = [
    (
        "messageFwdHeader_layer169#5f777dce flags:# imported:flags.7?true from_id:flags.0?Peer "
        "from_name:flags.5?string date:int channel_post:flags.2?int post_author:flags.3?string "
        "saved_from_peer:flags.4?Peer saved_from_msg_id:flags.4?int psa_type:flags.6?string = MessageFwdHeader;",
        "169",
        False,
    ),
    (
        "messageReplyHeader_current#1b97dd66 flags:# reply_to_scheduled:flags.2?true forum_topic:flags.3?true "
        "quote:flags.9?true reply_to_msg_id:flags.4?int reply_to_peer_id:flags.0?Peer "
        "reply_from:flags.5?MessageFwdHeader reply_media:flags.8?MessageMedia reply_to_top_id:flags.1?int "
        "quote_text:flags.6?string quote_entities:flags.7?Vector<MessageEntity> quote_offset:flags.10?int "
        "todo_item_id:flags.11?int poll_option:flags.12?bytes = MessageReplyHeader;",
        "227",
        False,
    ),
    (
        "messageReplyHeader_layer223#6917560b flags:# reply_to_scheduled:flags.2?true forum_topic:flags.3?true "
        "quote:flags.9?true reply_to_msg_id:flags.4?int reply_to_peer_id:flags.0?Peer "
        "reply_from:flags.5?MessageFwdHeader reply_media:flags.8?MessageMedia reply_to_top_id:flags.1?int "
        "quote_text:flags.6?string quote_entities:flags.7?Vector<MessageEntity> quote_offset:flags.10?int "
        "todo_item_id:flags.11?int = MessageReplyHeader;",
        "223",
        False,
    ),
    (
        "messageReplyHeader_layer165#a6d57763 flags:# reply_to_scheduled:flags.2?true forum_topic:flags.3?true "
        "reply_to_msg_id:int reply_to_peer_id:flags.0?Peer reply_to_top_id:flags.1?int = MessageReplyHeader;",
        "165",
        False,
    ),
    ("messageReplyStoryHeader_layer181#9c98bfc1 user_id:long story_id:int = MessageReplyHeader;", "181", False),
]

MEDIA = [
    ("messageMediaGeoLive_layer119#7c3c2609 geo:GeoPoint period:int = MessageMedia;", "119", False),
    (
        "messageMediaVenue_layer71#7912b71f geo:GeoPoint title:string address:string provider:string "
        "venue_id:string = MessageMedia;",
        "71",
        False,
    ),
    ("geoPoint_layer119#0296f104 long:double lat:double access_hash:long = GeoPoint;", "119", False),
    ("geoPoint_layer81#2049d70c long:double lat:double = GeoPoint;", "81", False),
    (
        "messageMediaContact_layer132#cbf24940 phone_number:string first_name:string last_name:string "
        "vcard:string user_id:int = MessageMedia;",
        "132",
        False,
    ),
    (
        "messageMediaContact_layer81#5e7d2f39 phone_number:string first_name:string last_name:string "
        "user_id:int = MessageMedia;",
        "81",
        False,
    ),
    (
        "messageMediaDocument_current#52d8ccd9 flags:# nopremium:flags.3?true spoiler:flags.4?true "
        "video:flags.6?true round:flags.7?true voice:flags.8?true document:flags.0?Document "
        "alt_documents:flags.5?Vector<Document> video_cover:flags.9?Photo video_timestamp:flags.10?int "
        "ttl_seconds:flags.2?int = MessageMedia;",
        "227",
        False,
    ),
    (
        "messageMediaPhoto_layer74#b5223b0f flags:# photo:flags.0?Photo caption:flags.1?string "
        "ttl_seconds:flags.2?int = MessageMedia;",
        "74",
        False,
    ),
    ("messageMediaPhoto_layer69#3d8ce53d photo:Photo caption:string = MessageMedia;", "69", False),
]

# User layouts are known here only up to the phone number (docs/formats/telegram.md "User records"): prefix_only
_USER_HEAD = (
    "access_hash:flags.0?long first_name:flags.1?string last_name:flags.2?string "
    "username:flags.3?string phone:flags.4?string"
)
_USER_BOOLS = (
    "self:flags.10?true contact:flags.11?true mutual_contact:flags.12?true deleted:flags.13?true "
    "bot:flags.14?true verified:flags.17?true"
)
USERS = [
    (f"user_{layer}#{cid} flags:# {_USER_BOOLS} flags2:# id:long {_USER_HEAD} = User;", layer, True)
    for cid, layer in (
        ("31774388", "227"),
        ("020b1422", "216"),
        ("4b46c37e", "199"),
        ("215c4438", "184"),
        ("eb602f25", "166"),
        ("abb5f120", "165"),
        ("8f97c628", "159"),
    )
]
USERS += [
    (f"user_{layer}#{cid} flags:# {_USER_BOOLS} id:long {_USER_HEAD} = User;", layer, True)
    for cid, layer in (("5d99adee", "147"), ("3ff6ecb0", "144"))
]
USERS += [
    (f"user_{layer}#{cid} flags:# {_USER_BOOLS} id:int {_USER_HEAD} = User;", layer, True)
    for cid, layer in (
        ("938458c1", "132"),
        ("2e13f4c3", "104"),
        ("d10d979a", "65"),
        ("603539b4", "44"),
        ("22e49072", "43"),
    )
]
USERS += [
    ("userEmpty_layer132#200250ba id:int = User;", "132", False),
    (
        "userSelf_layer30#1c60e608 id:int first_name:string last_name:string username:string phone:string = User;",
        "30",
        True,
    ),
    (
        "userContact_layer30#cab35e18 id:int first_name:string last_name:string username:string access_hash:long "
        "phone:string = User;",
        "30",
        True,
    ),
    (
        "userRequest_layer30#d9ccc4ef id:int first_name:string last_name:string username:string access_hash:long "
        "phone:string = User;",
        "30",
        True,
    ),
    (
        "userForeign_layer30#075cf7a8 id:int first_name:string last_name:string username:string "
        "access_hash:long = User;",
        "30",
        True,
    ),
    ("userDeleted_layer30#d6016d7a id:int first_name:string last_name:string username:string = User;", "30", True),
]

# ≤ layer 132 service actions with 32-bit user ids (the 64-bit ones are in the published schema)
ACTIONS = [
    ("messageActionChatCreate_layer132#a6638b9a title:string users:Vector<int> = MessageAction;", "132", False),
    ("messageActionChatAddUser_layer132#488a7337 users:Vector<int> = MessageAction;", "132", False),
    ("messageActionChatDeleteUser_layer132#b2ae9b0c user_id:int = MessageAction;", "132", False),
    ("messageActionChatJoinedByLink_layer132#f89cf5e8 inviter_id:int = MessageAction;", "132", False),
]

LEGACY_CONSTRUCTORS: list[tuple[str, str, bool]] = MESSAGES + SERVICE + PEERS + HEADERS + MEDIA + USERS + ACTIONS

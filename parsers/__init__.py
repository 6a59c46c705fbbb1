"""Artifact parsers: one module per artifact family. `ALL_PARSERS` is the registry the pipeline uses."""

from parsers.android_calls import AndroidCallLogParser
from parsers.android_contacts import AndroidContactsParser
from parsers.android_mms import AndroidMmsParser
from parsers.android_sms import AndroidSmsParser
from parsers.base import ParseContext, Parser, SqliteParser
from parsers.google_messages import GoogleMessagesParser
from parsers.ios_calls import IosCallHistoryParser
from parsers.ios_contacts import IosContactsParser
from parsers.ios_sms import IosSmsParser
from parsers.media_exif import PhotoExifParser
from parsers.whatsapp_android import WhatsAppContactsParser, WhatsAppMsgstoreParser
from parsers.whatsapp_ios import WhatsAppIosContactsParser, WhatsAppIosParser

ALL_PARSERS: tuple[Parser, ...] = (
    AndroidSmsParser(),
    AndroidMmsParser(),
    GoogleMessagesParser(),
    AndroidContactsParser(),
    AndroidCallLogParser(),
    IosSmsParser(),
    IosContactsParser(),
    IosCallHistoryParser(),
    WhatsAppMsgstoreParser(),
    WhatsAppContactsParser(),
    WhatsAppIosParser(),
    WhatsAppIosContactsParser(),
    PhotoExifParser(),
)

__all__ = ["ALL_PARSERS", "ParseContext", "Parser", "SqliteParser"]

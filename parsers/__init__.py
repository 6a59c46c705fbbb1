"""Artifact parsers: one module per artifact family. `ALL_PARSERS` is the registry the pipeline uses."""

from parsers.android_sms import AndroidSmsParser
from parsers.base import ParseContext, Parser, SqliteParser
from parsers.media_exif import PhotoExifParser
from parsers.whatsapp_android import WhatsAppContactsParser, WhatsAppMsgstoreParser

ALL_PARSERS: tuple[Parser, ...] = (
    AndroidSmsParser(),
    WhatsAppMsgstoreParser(),
    WhatsAppContactsParser(),
    PhotoExifParser(),
)

__all__ = ["ALL_PARSERS", "ParseContext", "Parser", "SqliteParser"]

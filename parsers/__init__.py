"""Artifact parsers: one module per artifact family. `ALL_PARSERS` is the registry the pipeline uses."""

from parsers.android_calls import AndroidCallLogParser
from parsers.android_contacts import AndroidContactsParser
from parsers.android_device_info import AndroidBuildPropParser, AndroidSettingsParser, AndroidSimInfoParser
from parsers.android_mms import AndroidMmsParser
from parsers.android_sms import AndroidSmsParser
from parsers.android_sms_backup import AndroidSmsBackupParser
from parsers.base import ParseContext, Parser, SqliteParser
from parsers.google_messages import GoogleMessagesParser
from parsers.ios_calls import IosCallHistoryParser
from parsers.ios_contacts import IosContactsParser
from parsers.ios_device_info import IosDeviceInfoParser
from parsers.ios_device_info_fs import IosDeviceInfoFsParser
from parsers.ios_sms import IosSmsParser
from parsers.ios_sms_legacy import IosLegacySmsParser
from parsers.media_exif import PhotoExifParser
from parsers.media_stores import AndroidMediaStoreParser, GooglePhotosParser, IosPhotosParser
from parsers.media_video import VideoParser
from parsers.payment_apps import CashAppParser, RevolutRecentParser, WalletStoresParser
from parsers.telegram.android import TelegramAndroidParser, TelegramUserConfigParser
from parsers.telegram.ios_postbox import TelegramIosPostboxParser
from parsers.whatsapp_android import WhatsAppContactsParser, WhatsAppMsgstoreParser
from parsers.whatsapp_ios import WhatsAppIosContactsParser, WhatsAppIosParser
from parsers.whatsapp_payments import WhatsAppPaymentsParser

ALL_PARSERS: tuple[Parser, ...] = (
    AndroidSmsParser(),
    AndroidMmsParser(),
    GoogleMessagesParser(),
    AndroidContactsParser(),
    AndroidCallLogParser(),
    IosSmsParser(),
    IosLegacySmsParser(),
    IosContactsParser(),
    IosCallHistoryParser(),
    WhatsAppMsgstoreParser(),
    WhatsAppContactsParser(),
    WhatsAppIosParser(),
    WhatsAppIosContactsParser(),
    TelegramAndroidParser(),
    TelegramUserConfigParser(),
    TelegramIosPostboxParser(),
    PhotoExifParser(),
    VideoParser(),
    AndroidMediaStoreParser(),
    GooglePhotosParser(),
    IosPhotosParser(),
    WhatsAppPaymentsParser(),
    CashAppParser(),
    RevolutRecentParser(),
    WalletStoresParser(),
    IosDeviceInfoParser(),
    AndroidSmsBackupParser(),
    AndroidBuildPropParser(),
    AndroidSettingsParser(),
    AndroidSimInfoParser(),
    IosDeviceInfoFsParser(),
)

__all__ = ["ALL_PARSERS", "ParseContext", "Parser", "SqliteParser"]

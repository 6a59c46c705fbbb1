"""iOS device identity from a full file system extraction: one Device record per property list.

(The iTunes/Finder backup's Info.plist is read by parsers/device/ios_device_info.py.)

- `/System/Library/CoreServices/SystemVersion.plist`: ProductName, ProductVersion, ProductBuildVersion.
- lockdown's `data_ark.plist` (`/private/var/root/Library/Lockdown/`, or the mobileactivationd system
  group container on newer iOS): device name, serial number, UDID, activation state; lockdown writes
  many keys with a leading "-", so both spellings are read.
- CommCenter preferences (`/private/var/wireless/Library/Preferences/com.apple.commcenter*.plist`): IMEI,
  ICCID, the phone number the network reported, operator.
- `.GlobalPreferences.plist`: the locale (a country hint for phone numbers).

Top-level values that are text or numbers are kept in `extra` as the file has them.
"""

from __future__ import annotations

import plistlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from parsers.base import ParseContext, Parser
from triage.model.records import Base, Device

MAX_PLIST_BYTES = 8 << 20
SERIAL_KEYS = ("SerialNumber",)
IMEI_KEYS = ("kCTIMEI", "IMEI", "InternationalMobileEquipmentIdentity")
NUMBER_KEYS = ("ReportedPhoneNumber", "PhoneNumber")
EXTRA_KEYS = (
    "ProductName",
    "ProductBuildVersion",
    "DeviceName",
    "UniqueDeviceID",
    "ActivationState",
    "ProductType",
    "kCTICCID",
    "ICCID",
    "LastKnownICCID",
    "IntegratedCircuitCardIdentity",
    "kCTMEID",
    "MEID",
    "OperatorName",
    "AppleLocale",
    "TimeZone",
)


class IosDeviceInfoFsParser(Parser):
    name = "ios_device_info_fs"
    description = "iOS SystemVersion.plist, lockdown data_ark.plist, CommCenter and locale preferences"
    app = "System (device)"
    platform = "iOS"
    produces = (Device,)
    order = 310
    fixtures = ("tests/parsers/test_device_info.py",)  # the test writes the plists it reads
    path_patterns = (
        "*/System/Library/CoreServices/SystemVersion.plist",
        "*/root/Library/Lockdown/data_ark.plist",
        "*/systemgroup.com.apple.mobileactivationd/Library/internal/data_ark.plist",
        "*/wireless/Library/Preferences/com.apple.commcenter.plist",
        "*/wireless/Library/Preferences/com.apple.commcenter.device_specific_nobackup.plist",
        "*/mobile/Library/Preferences/.GlobalPreferences.plist",
    )

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        data, longer = ctx.read_head(MAX_PLIST_BYTES)
        if longer:
            ctx.warn(f"over {MAX_PLIST_BYTES} bytes: not a preferences property list; not read")
            return
        try:
            plist = plistlib.loads(data)
        except Exception as e:  # noqa: BLE001 - plistlib raises several types for damaged input
            ctx.warn(f"not a readable property list: {type(e).__name__}: {e}")
            return
        if not isinstance(plist, dict):
            ctx.warn(f"property list holds a {type(plist).__name__}, not a dictionary; not read")
            return
        values = {key.lstrip("-"): v for key, v in plist.items() if _plain(v)}
        is_version = ctx.entry.name == "SystemVersion.plist"
        number = _first(values, NUMBER_KEYS)
        extra = {k: _text(values[k]) for k in EXTRA_KEYS if k in values}
        device = Device(
            manufacturer="Apple" if is_version or "SerialNumber" in values else None,
            os_name="iOS" if is_version else None,
            os_version=_text(values.get("ProductVersion")) if is_version else None,
            serial=_first(values, SERIAL_KEYS),
            imei=[v] if (v := _first(values, IMEI_KEYS)) else [],
            phone_numbers=[number] if number else [],
            extra={**extra, "keys": sorted(values)},
            source_offset=0,
        )
        if any([device.os_version, device.serial, device.imei, device.phone_numbers, extra]):
            yield device


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, datetime)) and not isinstance(value, bytes)


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _first(values: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((_text(values[k]) for k in keys if values.get(k) not in (None, "")), None)

"""The device an iTunes/Finder backup was made from: its `Info.plist` (and `Manifest.plist` → `Lockdown`)
become a Device record. The backup reader shows both at `/Info.plist` and `/Manifest.plist` (volume
`backup`); a loose copy of either file is read the same way.

Values keep their plist key names in `extra`, so each fact can be found again in the file."""

from __future__ import annotations

import plistlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from parsers.base import ParseContext, Parser
from triage.evidence import FileEntry
from triage.model.records import Base, Device
from triage.model.timeutil import iso

PLIST_MAGIC = (b"bplist00", b"<?xml", b"<!DOCTYPE plist", b"<plist")
# Info.plist keys copied to `extra` as they are (the ones mapped to Device columns are not repeated)
INFO_EXTRA = (
    "Device Name",
    "Display Name",
    "ICCID",
    "MEID",
    "Build Version",
    "GUID",
    "Unique Identifier",
    "Target Identifier",
    "Target Type",
    "iTunes Version",
    "Product Name",
)
LOCKDOWN_EXTRA = ("DeviceName", "BuildVersion", "UniqueDeviceID")
MANIFEST_EXTRA = ("IsEncrypted", "Version", "WasPasscodeSet", "SystemDomainsVersion")


class IosDeviceInfoParser(Parser):
    name = "ios_device_info"
    description = "iPhone backup Info.plist / Manifest.plist (device, iOS version, serial, IMEI, number, ICCID)"
    app = "iTunes/Finder backup"
    platform = "iOS"
    produces = (Device,)
    order = 260
    fixtures = ("fixtures/ios_backup_plain/Info.plist", "fixtures/ios_backup_plain/Manifest.plist")
    path_patterns = ("/Info.plist", "/Manifest.plist")

    def accepts(self, entry: FileEntry, header: bytes) -> bool:
        return self.path_matches(entry) and header.lstrip().startswith(PLIST_MAGIC)

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        with ctx.open() as f:
            raw = f.read()
        try:
            plist = plistlib.loads(raw)
        except Exception as e:  # noqa: BLE001 - plistlib raises InvalidFileException, ExpatError, ValueError …
            ctx.warn(f"not a readable property list ({type(e).__name__}: {e}); no device facts read")
            return
        if not isinstance(plist, dict):
            ctx.warn("property list is not a dictionary; not an iTunes backup plist")
            return
        if ctx.entry.name == "Manifest.plist":
            device = self._from_manifest(plist, ctx)
        else:
            device = self._from_info(plist, ctx)
        if device is not None:
            yield device

    def _from_info(self, plist: dict, ctx: ParseContext) -> Device | None:
        if "Product Type" not in plist and "Target Identifier" not in plist and "Serial Number" not in plist:
            ctx.warn(
                "no 'Product Type', 'Target Identifier' or 'Serial Number' key: not an iTunes backup "
                "Info.plist; not read"
            )
            return None
        extra: dict[str, Any] = {k: _plain(plist[k]) for k in INFO_EXTRA if plist.get(k) not in (None, "")}
        extra.update(_backup_date(plist.get("Last Backup Date"), "Last Backup Date", ctx))
        apps = plist.get("Installed Applications")
        if isinstance(apps, list):
            extra["Installed Applications"] = [str(a) for a in apps]
        product = _text(plist.get("Product Type"))
        name = _text(plist.get("Product Name"))
        return Device(
            manufacturer="Apple",
            model=f"{product} ({name})" if product and name else product or name,
            os_name="iOS",
            os_version=_text(plist.get("Product Version")),
            serial=_text(plist.get("Serial Number")),
            imei=[v for v in (_text(plist.get("IMEI")), _text(plist.get("IMEI 2"))) if v],
            phone_numbers=[v for v in (_text(plist.get("Phone Number")),) if v],
            extra={"source": "iTunes backup Info.plist", **extra},
        )

    def _from_manifest(self, plist: dict, ctx: ParseContext) -> Device | None:
        lockdown = plist.get("Lockdown")
        if not isinstance(lockdown, dict):
            ctx.warn("no 'Lockdown' dictionary: no device facts in this Manifest.plist")
            return None
        extra: dict[str, Any] = {
            f"Lockdown.{k}": _plain(lockdown[k]) for k in LOCKDOWN_EXTRA if lockdown.get(k) not in (None, "")
        }
        extra.update({k: _plain(plist[k]) for k in MANIFEST_EXTRA if k in plist})
        extra.update(_backup_date(plist.get("Date"), "Date", ctx))
        return Device(
            manufacturer="Apple",
            model=_text(lockdown.get("ProductType")),
            os_name="iOS",
            os_version=_text(lockdown.get("ProductVersion")),
            serial=_text(lockdown.get("SerialNumber")),
            extra={"source": "iTunes backup Manifest.plist Lockdown", **extra},
        )


def _backup_date(value: object, key: str, ctx: ParseContext) -> dict[str, Any]:
    """A plist <date> is an absolute instant (seconds since 2001-01-01 UTC); plistlib gives it naive."""
    if value is None:
        return {}
    if not isinstance(value, datetime):
        ctx.warn(f"'{key}' is {type(value).__name__}, not a date; kept raw, not converted")
        return {f"{key} (raw)": str(value)}
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return {f"{key} (raw)": value.isoformat(), f"{key} (encoding)": "plist_date", f"{key} (UTC)": iso(utc)}


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value.hex() if isinstance(value, bytes) else str(value)


def _plain(value: object) -> Any:
    """JSON-safe: bytes as hex, dates as ISO text."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime):
        return value.isoformat()
    return value

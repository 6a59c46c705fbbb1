"""Android device identity: build properties, settings and the SIM table, one Device record per source.

- `build.prop` (system, system-as-root, vendor, product, system_ext, odm): maker, model, Android version,
  fingerprint, security patch, serial where written; every key/value is kept in `extra["properties"]`.
- `/data/system/users/<n>/settings_{global,secure}.xml`: the name the user gave the phone, Bluetooth name
  and address, Android ID (plain XML, or Android Binary XML on Android 12+).
- `telephony.db` `siminfo` (AOSP TelephonyProvider): one record per SIM the phone has seen, with its
  ICCID, number, carrier and MCC/MNC.

Records are not merged: each says what its own file says, and the report header shows them together
with their sources. Country hints (ICCID, MCC, locale) are read from `extra` by triage/enrich/parties.py.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from parsers import abx
from parsers.base import ParseContext, Parser, Schema, SqliteParser
from parsers.sqlite_query import present
from triage.model.records import Base, Device

MAX_PROP_BYTES = 4 << 20  # build.prop files are a few KB; a bigger "build.prop" is not one
# (Device field, property names in order of preference: the generic key, then the partition-specific ones)
PROP_FIELDS = {
    "manufacturer": (
        "ro.product.manufacturer",
        "ro.product.system.manufacturer",
        "ro.product.vendor.manufacturer",
        "ro.product.odm.manufacturer",
        "ro.product.product.manufacturer",
    ),
    "model": (
        "ro.product.model",
        "ro.product.system.model",
        "ro.product.vendor.model",
        "ro.product.odm.model",
        "ro.product.product.model",
    ),
    "os_version": (
        "ro.build.version.release",
        "ro.system.build.version.release",
        "ro.vendor.build.version.release",
        "ro.build.version.release_or_codename",
    ),
    "serial": ("ro.serialno", "ro.boot.serialno"),
}
SUMMARY_PROPS = {  # extra[name] ← first property present
    "brand": ("ro.product.brand", "ro.product.system.brand", "ro.product.vendor.brand"),
    "device": ("ro.product.device", "ro.product.system.device", "ro.product.vendor.device"),
    "sdk": ("ro.build.version.sdk", "ro.system.build.version.sdk", "ro.vendor.build.version.sdk"),
    "fingerprint": ("ro.build.fingerprint", "ro.system.build.fingerprint", "ro.vendor.build.fingerprint"),
    "security_patch": ("ro.build.version.security_patch", "ro.vendor.build.security_patch"),
    "build_id": ("ro.build.display.id", "ro.build.id", "ro.system.build.id"),
}
SETTINGS_KEYS = {"device_name", "bluetooth_name", "bluetooth_address", "android_id"}


def parse_build_prop(text: str) -> tuple[dict[str, str], list[str]]:
    """key=value lines (later lines win, as Android's property loader does); malformed lines are named."""
    props: dict[str, str] = {}
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("import "):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            bad.append(f"line {number}")
            continue
        props[key.strip()] = value.strip()
    return props, bad


def _first(props: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((props[n] for n in names if props.get(n)), None)


class AndroidBuildPropParser(Parser):
    name = "android_build_prop"
    description = "Android build properties (build.prop): maker, model, version, fingerprint"
    app = "System (device)"
    platform = "Android"
    produces = (Device,)
    order = 280
    fixtures = ("fixtures/build_demo.py",)
    path_patterns = (
        "/build.prop",
        "*/system/build.prop",
        "*/vendor/build.prop",
        "*/product/build.prop",
        "*/system_ext/build.prop",
        "*/odm/build.prop",
        "*/odm/etc/build.prop",
    )

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        raw, longer = ctx.read_head(MAX_PROP_BYTES)
        if longer:
            ctx.warn(f"{ctx.entry.path} is over {MAX_PROP_BYTES} bytes: not a build.prop; not read")
            return
        props, bad = parse_build_prop(raw.decode("utf-8", errors="replace"))
        if bad:
            ctx.warn(f"{len(bad)} line(s) without key=value skipped ({', '.join(bad[:5])})")
        fields: dict[str, Any] = {f: _first(props, names) for f, names in PROP_FIELDS.items()}
        summary = {k: v for k, names in SUMMARY_PROPS.items() if (v := _first(props, names))}
        if not any(fields.values()) and not summary:
            ctx.warn("no device properties (product, version, fingerprint) in this build.prop")
            return
        yield Device(os_name="Android", **fields, extra={**summary, "properties": props}, source_offset=0)


class AndroidSettingsParser(Parser):
    name = "android_settings"
    description = "Android settings_global/secure.xml: device name, Bluetooth name/address, Android ID"
    app = "System (device)"
    platform = "Android"
    produces = (Device,)
    order = 290
    fixtures = ("fixtures/device_info/settings_global.xml", "fixtures/device_info/settings_secure.xml")
    path_patterns = ("*/system/users/*/settings_global.xml", "*/system/users/*/settings_secure.xml")

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        with ctx.open() as f:
            data = f.read()
        try:
            settings = _settings_of(data)
        except (abx.AbxError, ET.ParseError) as e:
            kind = "Android Binary XML" if data.startswith(abx.MAGIC) else "XML"
            ctx.warn(f"cannot read the settings file ({kind}): {e}")
            return
        found = {name: (row_id, value) for row_id, name, value in settings if name in SETTINGS_KEYS and value}
        if not found:
            return
        extra = {name: value for name, (_, value) in sorted(found.items())}
        extra["format"] = "abx" if data.startswith(abx.MAGIC) else "xml"
        yield Device(
            os_name="Android",
            extra=extra,
            source_table="setting",
            source_row=",".join(sorted({str(row_id) for row_id, _ in found.values()})),
        )


def _settings_of(data: bytes) -> list[tuple[str, str, str | None]]:
    """(id, name, value) of every <setting> element, from plain or binary XML."""
    if data.startswith(abx.MAGIC):
        nodes = abx.elements(data)
    else:
        nodes = [(el.tag, dict(el.attrib)) for el in ET.fromstring(data).iter()]
    return [
        (attrs.get("id") or "", attrs.get("name") or "", attrs.get("value")) for tag, attrs in nodes if tag == "setting"
    ]


class AndroidSimInfoParser(SqliteParser):
    name = "android_siminfo"
    description = "Android telephony.db siminfo: SIM cards the phone has seen (ICCID, number, carrier, MCC/MNC)"
    app = "System (device)"
    platform = "Android"
    produces = (Device,)
    order = 300
    path_patterns = ("*/com.android.providers.telephony/databases/telephony.db",)
    schemas = (
        Schema(
            "telephony.db (siminfo)",
            {"siminfo": {"_id", "icc_id", "number", "display_name"}},
            "fixtures/device_info/telephony.db",
        ),
    )
    OPTIONAL = [
        "sim_id",
        "carrier_name",
        "mcc",
        "mnc",
        "mcc_string",
        "mnc_string",
        "iso_country_code",
        "card_id",
        "imsi",
        "is_embedded",
        "carrier_id",
    ]

    def parse_db(self, db: sqlite3.Connection, ctx: ParseContext) -> Iterator[Base]:
        optional = present(db, "siminfo", self.OPTIONAL)
        columns = ", ".join(["_id", "icc_id", "number", "display_name", *optional])
        for row in db.execute(f"SELECT {columns} FROM siminfo ORDER BY _id"):
            row = dict(row)
            number = (row.get("number") or "").strip()
            sim = {k: v for k, v in row.items() if k != "_id" and v not in (None, "")}
            yield Device(
                os_name="Android",
                phone_numbers=[number] if number else [],
                extra={"sim": sim},
                source_table="siminfo",
                source_row=str(row["_id"]),
            )

"""Which volume of a phone image is which: user data, system, vendor … from partition names.

Android images name their GPT partitions (`userdata`, `system_a`, `vendor`, `metadata`, `boot` …), and
iOS names its APFS volumes (`Data`, `System` …). The name decides the role; the A/B slot suffix is
ignored. When no volume is named as user data, the largest ext4/F2FS partition is taken as it (that
is what Android formats /data with), and the inference is said in the role (`userdata (largest
ext4/F2FS)`), so a reader never mistakes it for a name. A bare file system with no partition table has
no name to go by and is `other`.
"""

from __future__ import annotations

import re

ROLES = ("userdata", "system", "vendor", "cache", "metadata", "boot", "other")
INFERRED_USERDATA = "userdata (largest ext4/F2FS)"
_BY_NAME = {
    "userdata": "userdata",
    "data": "userdata",
    "user": "userdata",
    "system": "system",
    "system_ext": "system",
    "product": "system",
    "super": "system",
    "vendor": "vendor",
    "odm": "vendor",
    "vendor_dlkm": "vendor",
    "odm_dlkm": "vendor",
    "cache": "cache",
    "metadata": "metadata",
    "md_udc": "metadata",
    "boot": "boot",
    "init_boot": "boot",
    "vendor_boot": "boot",
    "recovery": "boot",
    "dtbo": "boot",
    "vbmeta": "boot",
    "vbmeta_system": "boot",
}
_NAMED_LAYER = re.compile(r"(?:partition \d+|APFS volume) '(?P<name>[^']*)'")
_SLOT = re.compile(r"_[ab]$")
_USERDATA_FS = {"ext4", "F2FS"}


def volume_roles(evidence: object) -> dict[str, str]:
    """{volume id: role} for an image with volumes; {} for evidence without them (folders, archives)."""
    volumes = getattr(evidence, "volumes", None) or []
    roles = {v.id: _role_of_name(_name_of(v.layers)) for v in volumes}
    if "userdata" not in roles.values():
        candidates = [
            v for v in volumes if v.id.startswith("p") and roles[v.id] == "other" and v.layers[-1] in _USERDATA_FS
        ]
        if candidates:
            roles[max(candidates, key=_size_of).id] = INFERRED_USERDATA
    return roles


def _name_of(layers: tuple[str, ...]) -> str:
    """The most specific name in the chain: an APFS volume's, else its partition's."""
    for layer in reversed(layers):
        found = _NAMED_LAYER.search(layer)
        if found and found["name"].strip():
            return found["name"].strip()
    return ""


def _role_of_name(name: str) -> str:
    key = _SLOT.sub("", name.lower())
    return _BY_NAME.get(key, "other")


def _size_of(volume: object) -> int:
    """Bytes in the volume's file system, as far as its reader knows (0 when it cannot tell)."""
    fs = getattr(volume, "fs", None)
    if fs is not None:
        return int(fs.info.block_count) * int(fs.info.block_size)
    return int(getattr(getattr(volume, "other", None), "size", 0) or 0)

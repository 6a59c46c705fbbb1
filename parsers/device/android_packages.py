"""Android installed apps from /data/system/packages.list: one Device record per file, holding every package
name and, for each messaging app or copy of one, its line (docs/formats/android_device_state.md
"packages.list").

The file is plain text the package manager rewrites: one line per installed package, fields separated by
single spaces, the first four always the package name, its uid, a debuggable flag and its data folder.
Later fields differ between Android releases and are kept as read. A line that does not have the four
fixed fields is named in a warning and skipped; the rest of the file is still read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from parsers.base import ParseContext, Parser
from parsers.device.messenger_apps import messenger_of
from triage.model.records import Base, Device

MAX_BYTES = 8 << 20  # a phone with a thousand apps writes about 150 KB; much more is not a packages.list
USER_FOLDER = re.compile(r"^/data/user(?:_de)?/(\d+)/")


def read_packages_list(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The packages of a packages.list (line number, name, uid, debuggable, data folder, later fields) and the
    numbers of the lines that are not package lines."""
    packages, bad = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) < 4 or not fields[1].isdigit() or fields[2] not in ("0", "1") or not fields[3].startswith("/"):
            bad.append(number)
            continue
        packages.append(
            {
                "line": number,
                "package": fields[0],
                "uid": int(fields[1]),
                "debuggable": fields[2] == "1",
                "data_dir": fields[3],
                "more": fields[4:],  # seinfo, gids, and what later releases add
            }
        )
    return packages, bad


def user_of(data_dir: str) -> int:
    """The Android user whose data folder this is (/data/user/95/… is user 95; /data/data/… is user 0)."""
    found = USER_FOLDER.match(data_dir)
    return int(found.group(1)) if found else 0


def messaging_entry(package: dict[str, Any]) -> dict[str, Any] | None:
    app = messenger_of(package["package"])
    if app is None:
        return None
    return {
        "package": package["package"],
        "app": app.label,
        "family": app.family,
        "variant": app.variant,
        "user": user_of(package["data_dir"]),
        "uid": package["uid"],
        "data_dir": package["data_dir"],
        "line": package["line"],
    }


class AndroidPackagesParser(Parser):
    name = "android_packages"
    description = "Android packages.list: the installed apps, and which messaging apps and copies of them"
    app = "System (package manager)"
    platform = "Android"
    produces = (Device,)
    fixtures = ("fixtures/device_state/data/system/packages.list",)
    path_patterns = ("*/system/packages.list",)

    def parse(self, ctx: ParseContext) -> Iterator[Base]:
        raw, longer = ctx.read_head(MAX_BYTES)
        if longer:
            ctx.warn(f"{ctx.entry.path} is over {MAX_BYTES} bytes: not a packages.list; not read")
            return
        packages, bad = read_packages_list(raw.decode("utf-8", errors="replace"))
        if bad:
            shown = ", ".join(str(n) for n in bad[:5]) + (" …" if len(bad) > 5 else "")
            ctx.warn(f"{len(bad)} line(s) are not 'package uid debuggable folder …' lines and were skipped: {shown}")
        if not packages:
            ctx.warn("no package lines in this packages.list: nothing read")
            return
        messaging = [entry for p in packages if (entry := messaging_entry(p)) is not None]
        yield Device(
            os_name="Android",
            extra={
                "installed_apps": {
                    "count": len(packages),
                    "packages": sorted({p["package"] for p in packages}),
                    "messaging": messaging,
                }
            },
            source_offset=0,
        )

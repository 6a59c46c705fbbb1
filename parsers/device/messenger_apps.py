"""Messaging apps known by their Android package name (docs/formats/android_device_state.md "Messaging apps
and their variants"): which app a package or an account type is, its family, and what kind of copy it is.

Shared by the installed-apps parser (`android_packages.py`) and the accounts parser
(`android_accounts.py`), so both name an app the same way. The app label starts with its family's word
("whatsapp business" is of the family whatsapp): rules/primitives.py groups messaging identities by that
word, without reading this table.
"""

from __future__ import annotations

from dataclasses import dataclass

OFFICIAL = "official"
MODIFIED = "modified (third party)"
CLONE_TOOL = "app-cloning tool"
RENAMED = "renamed copy (possible clone)"


@dataclass(frozen=True)
class MessengerApp:
    package: str
    label: str  # lower-case, family word first: "whatsapp business"
    variant: str  # OFFICIAL, MODIFIED or CLONE_TOOL

    @property
    def family(self) -> str:
        return self.label.split()[0]


_KNOWN = (
    MessengerApp("com.whatsapp", "whatsapp", OFFICIAL),
    MessengerApp("com.whatsapp.w4b", "whatsapp business", OFFICIAL),
    MessengerApp("com.gbwhatsapp", "whatsapp gb", MODIFIED),
    MessengerApp("com.fmwhatsapp", "whatsapp fm", MODIFIED),
    MessengerApp("com.yowhatsapp", "whatsapp yo", MODIFIED),
    MessengerApp("org.telegram.messenger", "telegram", OFFICIAL),
    MessengerApp("org.telegram.messenger.web", "telegram web-build", OFFICIAL),
    MessengerApp("org.telegram.messenger.beta", "telegram beta", OFFICIAL),
    MessengerApp("org.thunderdog.challegram", "telegram x", OFFICIAL),
    MessengerApp("org.telegram.plus", "telegram plus", MODIFIED),
    MessengerApp("tw.nekomimi.nekogram", "telegram nekogram", MODIFIED),
    MessengerApp("org.thoughtcrime.securesms", "signal", OFFICIAL),
    MessengerApp("com.viber.voip", "viber", OFFICIAL),
    MessengerApp("com.imo.android.imoim", "imo", OFFICIAL),
    # hosts that run a second copy of any app inside themselves (their copies leave no package of their own)
    MessengerApp("com.lbe.parallel.intl", "cloner parallel space", CLONE_TOOL),
    MessengerApp("com.ludashi.dualspace", "cloner dual space", CLONE_TOOL),
    MessengerApp("com.applisto.appcloner", "cloner app cloner", CLONE_TOOL),
)
BY_PACKAGE: dict[str, MessengerApp] = {app.package: app for app in _KNOWN}
# a package named after a messenger with a suffix of its own ("com.whatsapp.clone2") is a renamed copy
# (the longest name first: com.whatsapp.w4b.x is a copy of WhatsApp Business, not of WhatsApp)
_PREFIXES = sorted((app for app in _KNOWN if app.variant == OFFICIAL), key=lambda app: -len(app.package))


def messenger_of(package: str) -> MessengerApp | None:
    """The messaging app a package is, a renamed copy of one ("possible clone"), or None."""
    known = BY_PACKAGE.get(package)
    if known is not None:
        return known
    for app in _PREFIXES:
        if package.startswith(app.package + ".") or package.startswith(app.package + "_"):
            suffix = package[len(app.package) + 1 :]
            return MessengerApp(package, f"{app.label} copy {suffix}", RENAMED)
    return None

"""A kiosk set up as the README says, in a temporary folder: users, signing key, intake (a link to the demo
evidence), outbox and work folders; and helpers to walk its flow through HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.report_demo import DEMO_E01
from triage.bundle.keys import init_key
from triage.kiosk.app import KioskConfig
from triage.kiosk.users import UserFile

PIN = "246810"
OPERATOR, SECOND, SUPERVISOR = "PC Ada Field", "PC Bo Second", "Sgt Cy Super"
# the demo's messages run 10-25 May 2025: this window keeps part of them and drops the rest
SCOPE_FROM, SCOPE_TO = "2025-05-12", "2025-05-19"
SCOPE_CATEGORIES = ("messages", "locations")


@dataclass
class KioskSetup:
    config: KioskConfig
    key: Path
    fingerprint: str


def kiosk_setup(base: Path, hosts: list[str] | None = None) -> KioskSetup:
    intake, outbox, work = base / "intake", base / "outbox", base / "work"
    for folder in (intake, outbox):
        folder.mkdir(parents=True)
    (intake / DEMO_E01.name).symlink_to(DEMO_E01)
    (intake / "notes.txt").write_text("not evidence\n", encoding="utf-8")
    users = UserFile(base / "users.json")
    users.add(OPERATOR, "operator", PIN)
    users.add(SECOND, "operator", PIN)
    users.add(SUPERVISOR, "supervisor", PIN)
    key, fp = init_key(base / "keys")
    config = KioskConfig(
        intake=intake,
        outbox=outbox,
        work=work,
        users=base / "users.json",
        signing_key=key,
        allowed_hosts=hosts or ["testserver", "127.0.0.1", "localhost"],
    )
    return KioskSetup(config, key, fp)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def case_id_of(url: str) -> str:
    found = re.search(r"/cases/([^/]+)/", url)
    assert found, url
    return found.group(1)


LEGAL_FORM = {
    "power": "PCSC Act 2022 s.37 agreement",
    "notice_ref": "NOTICE-77",
    "agreement_ref": "AGREE-77",
    "agreement_time": "2026-12-05 10:00",
    "no_undue_pressure": "yes",
    "told_may_refuse": "yes",
    "line_of_enquiry": "Arrangements for the crossing of 15 May 2025",
    "necessity": "The device user reports being told the price by phone",
    "proportionality": "Messages and positions of one week only",
    "less_intrusive": "Asking the user: declined",
}

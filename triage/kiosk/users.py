"""The kiosk's operators: a local JSON file of names, roles and argon2id-hashed PINs, with lock-out.

A PIN is short, so what protects it is the hash's cost (argon2id, argon2-cffi's defaults) and the lock-out:
after MAX_FAILURES wrong PINs in a row the name is locked for LOCK_MINUTES, and the file records it so a
restart does not reset the count. The file is rewritten whole through a temporary file and a rename, so a
crash never leaves half a file; it holds no PIN, only hashes.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from triage.errors import TriageError

ROLES = ("operator", "supervisor")
MAX_FAILURES = 5
LOCK_MINUTES = 15
PIN_PATTERN = re.compile(r"^[0-9]{6,12}$")  # a touch keypad: digits only, long enough to resist guessing
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._'-]{0,63}$")

_hasher = PasswordHasher()
# compared against when the name is unknown, so a wrong name costs as long as a wrong PIN
_DUMMY_HASH = _hasher.hash("000000-not-a-user")


class UsersError(TriageError):
    """The users file cannot be read, or a user cannot be added as asked."""


@dataclass
class Operator:
    name: str
    role: str
    pin_hash: str
    disabled: bool = False
    failures: int = 0
    locked_until: str | None = None  # ISO UTC time

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and datetime.fromisoformat(self.locked_until) > now


@dataclass(frozen=True)
class SignIn:
    ok: bool
    operator: Operator | None
    reason: str  # for the audit log: "signed in", "wrong PIN (2 of 5)", "locked until …", "unknown name"
    locked_now: bool = False


class UserFile:
    """The users file, read and written under a lock (the server checks sign-ins from several threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Operator]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {name: Operator(**fields) for name, fields in data["operators"].items()}
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UsersError(
                f"the kiosk users file {self.path} cannot be read ({e}); restore it from its backup "
                "or make a new one with `triage kiosk users add`"
            ) from None

    def _save(self, operators: dict[str, Operator]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"operators": {n: asdict(o) for n, o in sorted(operators.items())}}, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".users-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def names(self) -> list[Operator]:
        with self._lock:
            return list(self._load().values())

    def add(self, name: str, role: str, pin: str) -> Operator:
        if not NAME_PATTERN.match(name):
            raise UsersError(f"{name!r} is not a usable name: letters, digits, space . _ ' - (up to 64)")
        if role not in ROLES:
            raise UsersError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not PIN_PATTERN.match(pin):
            raise UsersError("the PIN must be 6 to 12 digits")
        with self._lock:
            operators = self._load()
            if name in operators:
                raise UsersError(f"{name} is already a kiosk user; disable it first or choose another name")
            operators[name] = Operator(name, role, _hasher.hash(pin))
            self._save(operators)
            return operators[name]

    def set_disabled(self, name: str, disabled: bool) -> None:
        with self._lock:
            operators = self._load()
            if name not in operators:
                raise UsersError(f"{name} is not a kiosk user (see `triage kiosk users list`)")
            operators[name].disabled = disabled
            if not disabled:
                operators[name].failures, operators[name].locked_until = 0, None
            self._save(operators)

    def unlock(self, name: str) -> None:
        self.set_disabled(name, False)

    def check(self, name: str, pin: str, now: datetime | None = None) -> SignIn:
        """Verify a sign-in; counts failures and locks the name after MAX_FAILURES in a row."""
        now = now or datetime.now(UTC)
        with self._lock:
            operators = self._load()
            op = operators.get(name)
            if op is None or op.disabled:
                _verify(_DUMMY_HASH, pin)  # same cost as a real check
                return SignIn(False, None, "unknown or disabled name")
            if op.locked(now):
                return SignIn(False, op, f"locked until {op.locked_until} after {MAX_FAILURES} wrong PINs")
            if _verify(op.pin_hash, pin):
                op.failures, op.locked_until = 0, None
                if _hasher.check_needs_rehash(op.pin_hash):
                    op.pin_hash = _hasher.hash(pin)
                self._save(operators)
                return SignIn(True, op, "signed in")
            op.failures += 1
            locked_now = op.failures >= MAX_FAILURES
            if locked_now:
                op.locked_until = (now + timedelta(minutes=LOCK_MINUTES)).isoformat()
                op.failures = 0
            self._save(operators)
            reason = (
                f"wrong PIN: locked for {LOCK_MINUTES} minutes"
                if locked_now
                else f"wrong PIN ({op.failures} of {MAX_FAILURES})"
            )
            return SignIn(False, op, reason, locked_now)


def _verify(pin_hash: str, pin: str) -> bool:
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False

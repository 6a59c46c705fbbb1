"""Sign-in sessions kept in the server's memory: a random id in an HttpOnly, SameSite=Strict cookie, a CSRF
token per session, and an idle expiry. Nothing about a session is stored on disk or in the browser."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "kiosk_session"
MAX_ANONYMOUS = 1000  # sessions before sign-in (each sign-in page makes one): oldest dropped beyond this


@dataclass
class Session:
    id: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user: str | None = None
    role: str | None = None
    signed_in_at: float = 0.0
    last_seen: float = field(default_factory=time.monotonic)
    case_id: str | None = None


class Sessions:
    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self) -> Session:
        session = Session(secrets.token_urlsafe(32))
        with self._lock:
            anonymous = [s for s in self._by_id.values() if s.user is None]
            for old in sorted(anonymous, key=lambda s: s.last_seen)[: max(0, len(anonymous) - MAX_ANONYMOUS + 1)]:
                del self._by_id[old.id]
            self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        with self._lock:
            return self._by_id.get(session_id or "")

    def rotate(self, session: Session) -> Session:
        """A new id (and CSRF token) at sign-in: an id seen before sign-in never carries a signed-in session."""
        with self._lock:
            self._by_id.pop(session.id, None)
            session.id, session.csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            self._by_id[session.id] = session
        return session

    def drop(self, session: Session) -> None:
        with self._lock:
            self._by_id.pop(session.id, None)

    def expired(self, session: Session, now: float | None = None) -> bool:
        return session.user is not None and (now or time.monotonic()) - session.last_seen > self.idle_seconds

    def idle_signed_in(self) -> list[Session]:
        now = time.monotonic()
        with self._lock:
            return [s for s in self._by_id.values() if self.expired(s, now)]

    def signed_in(self) -> list[Session]:
        with self._lock:
            return [s for s in self._by_id.values() if s.user is not None]


def csrf_ok(session: Session | None, token: str | None) -> bool:
    if session is None or not token:
        return False
    # as bytes: compare_digest refuses str with non-ASCII characters, and a form may hold anything
    return secrets.compare_digest(session.csrf.encode("ascii"), token.encode("utf-8", "surrogateescape"))

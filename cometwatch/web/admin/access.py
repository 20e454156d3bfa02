"""Who may use the Webhooks page: the admin token, sessions, CSRF tokens, login throttling.

A login always, even on loopback (another user of the machine reaches 127.0.0.1 too). The
token is `[server] admin_token`, or when none is set, one generated at the first start, kept
as its SHA-256 in the state and printed once with the URL to open (as Jupyter prints its
token URL). Sessions live in this process's memory (a restart logs everyone out) behind a
random cookie value; each carries its own CSRF token, which every form sends back. Failed
logins are throttled per client address and overall, so a guessed token costs minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from cometwatch.config import Secret

SESSION_COOKIE = "cometwatch_admin"
SESSION_IDLE = 12 * 3600.0  # a session unused this long ends
SESSION_MAX = 7 * 86400.0
MAX_SESSIONS = 1000  # the oldest go first; a flood of logins cannot grow memory
FAILURES_PER_CLIENT = 5  # per FAILURE_WINDOW, then refused until the window moves on
FAILURES_OVERALL = 30
FAILURE_WINDOW = 60.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(slots=True)
class Session:
    id: str
    csrf: str
    created: float
    seen: float
    admin: bool = False  # logged in; an anonymous session only carries the login form's CSRF
    # What the last action said, shown once on the page it redirects to: (kind, text).
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Throttle:
    """Failed logins over the last window, per client and overall."""

    per_client: int = FAILURES_PER_CLIENT
    overall: int = FAILURES_OVERALL
    window: float = FAILURE_WINDOW
    _failures: deque[tuple[float, str]] = field(default_factory=deque)

    def wait(self, client: str, now: float) -> float:
        """Seconds before `client` may try again; 0 when it may now."""
        while self._failures and self._failures[0][0] <= now - self.window:
            self._failures.popleft()
        mine = [t for t, who in self._failures if who == client]
        if len(mine) >= self.per_client:
            return mine[-self.per_client] + self.window - now
        if len(self._failures) >= self.overall:
            return self._failures[-self.overall][0] + self.window - now
        return 0.0

    def failed(self, client: str, now: float) -> None:
        self._failures.append((now, client))


class Access:
    """The admin token check and the sessions of one page. Thread-safe."""

    def __init__(self, token: Callable[[], str | None], clock: Callable[[], float] = time.time,
                 configured: Secret | None = None) -> None:
        # `token` gives the expected token's SHA-256, read when needed (a generated one may
        # be written by another process after this one started).
        self._token = token
        self._configured = configured
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self.throttle = Throttle()

    def expected_hash(self) -> str | None:
        if self._configured is not None:
            return token_hash(self._configured.reveal())
        return self._token()

    def check_token(self, given: str) -> bool:
        expected = self.expected_hash()
        if not expected or not given:
            return False
        # Compared as hashes: constant time, and the same length whatever was typed.
        return hmac.compare_digest(token_hash(given), expected)

    def session(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            if now - found.seen > SESSION_IDLE or now - found.created > SESSION_MAX:
                del self._sessions[session_id]
                return None
            found.seen = now
            return found

    def start(self, admin: bool) -> Session:
        """A new session (a login rotates it: a session id known before is never admin)."""
        now = self._clock()
        made = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now, admin)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.seen)
                del self._sessions[oldest.id]
            self._sessions[made.id] = made
        return made

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def wait(self, client: str) -> float:
        with self._lock:
            return self.throttle.wait(client, self._clock())

    def failed(self, client: str) -> None:
        with self._lock:
            self.throttle.failed(client, self._clock())


def csrf_ok(session: Session | None, given: str | None) -> bool:
    return session is not None and bool(given) and hmac.compare_digest(
        session.csrf.encode(), (given or "").encode("utf-8", "replace"))

"""Sessions for reading non-public data: an official proves possession of their key.

The server hands out a single-use challenge; the official signs
``"gongkai-session/v1\\n<jurisdiction>\\n<challenge>\\n"`` with their Ed25519 key (in the browser
with WebCrypto, or with the CLI); the server checks the key is enrolled and unrevoked and opens
a short-lived session: a bearer token for API clients, and for the web app an HttpOnly,
SameSite=Strict cookie with a CSRF token that unsafe requests must echo in ``X-CSRF-Token``.
A challenge is used once (a replayed one is refused) and expires; sessions expire too.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ledger.errors import BadSignature, VerificationError
from ledger.registry import Official, Registry

CHALLENGE_TTL = 120
SESSION_TTL = 15 * 60


class SessionError(VerificationError):
    code = "session_refused"


def session_message(jurisdiction: str, challenge: str) -> bytes:
    return f"gongkai-session/v1\n{jurisdiction}\n{challenge}\n".encode()


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    csrf: str
    official: Official
    expires: float


class Sessions:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._challenges: dict[str, float] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def challenge(self) -> tuple[str, float]:
        now = self.clock()
        nonce = secrets.token_urlsafe(24)
        with self._lock:
            self._challenges = {c: t for c, t in self._challenges.items() if t > now}
            self._challenges[nonce] = now + CHALLENGE_TTL
        return nonce, now + CHALLENGE_TTL

    def open(self, registry: Registry, key_id: str, challenge: str, signature: bytes) -> Session:
        now = self.clock()
        with self._lock:
            expires = self._challenges.pop(challenge, None)  # single use, even when refused
        if expires is None:
            raise SessionError("unknown or already used challenge: ask for a new one")
        if expires <= now:
            raise SessionError("the challenge expired: ask for a new one")
        official = registry.official(key_id)  # UnknownKey, RevokedKey
        try:
            official.public_key.verify(signature, session_message(registry.jurisdiction, challenge))
        except BadSignature:
            raise BadSignature("the challenge's signature does not verify for this key") from None
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(16), official, now + SESSION_TTL)
        with self._lock:
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires <= self.clock():
                del self._sessions[token]
                return None
        return session

    def close(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

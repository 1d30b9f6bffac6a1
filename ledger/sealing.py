"""The sealed part of a command: personal data, bound to the log by a digest, encrypted per subject.

A sealed part is the RFC 8785 JSON ``{"salt": 32 hex, "subject": SUBJECT, "data": {...}}``.
The signed payload (the public part) carries ``sealed = SHA-256(sealed bytes)`` in hex, so the
official's signature binds the personal data without publishing it; the random salt keeps the
digest from being confirmed by guessing (an ID number has few enough possibilities to try).

The subject is whose data it is: a recipient's pseudonym, or ``donor:<receipt number>``. Each
subject has its own AES-256 key; a sealed part is stored encrypted with it (AES-GCM, the digest
as associated data, so a ciphertext cannot be moved to another record). Destroying a subject's
key erases the person (crypto-shredding): the ciphertext stays, unreadable, and the digest keeps
the log verifiable.

``SubjectKeys`` and ``SealedStore`` are what the storage must offer (``projections/store.py``
implements both on SQLite, PostgreSQL and in memory). Nothing here is ever published.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.canonical import canonical, parse
from ledger.errors import MalformedCommand, VerificationError

DIGEST = re.compile(r"^[0-9a-f]{64}$")
_SALT = re.compile(r"^[0-9a-f]{32}$")
KEY_BYTES = 32
NONCE_BYTES = 12


def digest_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class SealedPart:
    """A parsed sealed part: its exact bytes, their digest, whose data it is, and the data."""

    raw: bytes
    digest: str
    salt: str
    subject: str
    data: dict[str, Any]

    @classmethod
    def pack(cls, subject: str, data: dict[str, Any], salt: str | None = None) -> SealedPart:
        """The client side: seal ``data`` about ``subject`` (a fresh random salt by default)."""
        raw = canonical({"salt": salt or secrets.token_hex(16), "subject": subject, "data": data})
        return cls.parse(raw)

    @classmethod
    def parse(cls, raw: bytes) -> SealedPart:
        """Check the shape of a sealed part (its data is checked by the privacy policy)."""
        value = parse(raw)
        if not isinstance(value, dict) or set(value) != {"salt", "subject", "data"}:
            raise MalformedCommand("the sealed part must be an object of salt, subject and data")
        salt, subject, data = value["salt"], value["subject"], value["data"]
        if not isinstance(salt, str) or not _SALT.match(salt):
            raise MalformedCommand("sealed.salt must be 32 lowercase hex characters (random)")
        if not isinstance(subject, str) or not 1 <= len(subject) <= 80:
            raise MalformedCommand("sealed.subject must be text of at most 80 characters")
        if not isinstance(data, dict):
            raise MalformedCommand("sealed.data must be a JSON object")
        if canonical(value) != raw:
            raise MalformedCommand("the sealed part must be canonical JSON (RFC 8785)")
        return cls(raw=raw, digest=digest_of(raw), salt=salt, subject=subject, data=data)


def new_subject_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal(key: bytes, part: SealedPart) -> tuple[bytes, bytes]:
    """Encrypt a sealed part with its subject's key: (nonce, ciphertext)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(key).encrypt(nonce, part.raw, part.digest.encode())


def unseal(key: bytes, digest: str, nonce: bytes, ciphertext: bytes) -> SealedPart:
    """Decrypt a stored sealed part and check it against its digest, or raise."""
    try:
        raw = AESGCM(key).decrypt(nonce, ciphertext, digest.encode())
    except InvalidTag:
        raise VerificationError(f"sealed part {digest[:12]}… does not decrypt with its key") from None
    part = SealedPart.parse(raw)
    if part.digest != digest:
        raise VerificationError(f"sealed part {digest[:12]}… does not match its digest")
    return part


@dataclass(frozen=True, slots=True)
class Opened:
    """A stored sealed part as a reader gets it: whose it is, and its part unless erased."""

    digest: str
    subject: str
    part: SealedPart | None

    @property
    def erased(self) -> bool:
        return self.part is None


@runtime_checkable
class SubjectKeys(Protocol):
    """Per-subject keys. ``create`` makes missing keys (in a transaction of its own, before the
    events are saved: an orphan key is harmless, an event without its key is not). Erased
    subjects never get a key again and are absent from the answer.

    Erasure goes with the events of the signed ``recipient.erase`` command:
    ``save(..., erased=[subject, ...])`` replaces the key by a tombstone in their transaction.
    """

    def subject_keys(self, subjects: Sequence[str], *, create: bool) -> dict[str, bytes]: ...


@runtime_checkable
class SealedStore(Protocol):
    """Encrypted sealed parts, stored in the events' transaction with
    ``save(..., sealed=[(digest, subject, nonce, ciphertext), ...])``."""

    def find_sealed(self, digests: Sequence[str]) -> dict[str, tuple[str, bytes, bytes]]: ...

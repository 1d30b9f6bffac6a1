"""Ed25519 keys of officials and of the log, and their files.

A private key file is PKCS#8 PEM encrypted with a passphrase; the public key file is the raw
32-byte key in base64 on one line. A key id is the first 16 bytes of SHA-256(raw public key),
in hex: short, stable and derived, so nobody can claim another key's id.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import BadSignature, InputError


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PublicKey:
    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise InputError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> str:
        return key_id_of(self.raw)

    def b64(self) -> str:
        return base64.b64encode(self.raw).decode()

    @classmethod
    def from_b64(cls, text: str) -> PublicKey:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except ValueError as exc:
            raise InputError(f"public key is not base64: {exc}") from exc
        return cls(raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise ``BadSignature`` unless ``signature`` is valid over exactly ``message``."""
        try:
            _loaded(self.raw).verify(signature, message)
        except InvalidSignature as exc:
            raise BadSignature(f"signature does not verify for key {self.key_id}") from exc


@lru_cache(maxsize=1024)
def _loaded(raw: bytes) -> Ed25519PublicKey:
    """The parsed key, kept: a town has a few dozen officials and each verifies thousands."""
    return Ed25519PublicKey.from_public_bytes(raw)


class PrivateKey:
    """An official's (or the log's) signing key. Never stored by the server."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = PublicKey(raw)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        """Deterministic key from 32 seed bytes (demo data only)."""
        return cls(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest()))

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def to_pem(self, passphrase: bytes) -> bytes:
        if not passphrase:
            raise InputError("a key file needs a non-empty passphrase")
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )

    @classmethod
    def from_pem(cls, pem: bytes, passphrase: bytes) -> PrivateKey:
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase)
        except (ValueError, TypeError) as exc:
            raise InputError(f"cannot open the key file (wrong passphrase or not a key): {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError("the key file does not hold an Ed25519 key")
        return cls(key)


def write_keypair(key: PrivateKey, stem: Path, passphrase: bytes) -> tuple[Path, Path]:
    """Write ``stem.key`` (encrypted PKCS#8, mode 0600) and ``stem.pub``; refuse to overwrite."""
    private_path = stem.with_suffix(".key")
    public_path = stem.with_suffix(".pub")
    for path in (private_path, public_path):
        if path.exists():
            raise InputError(f"{path} already exists; refusing to overwrite a key")
    stem.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(key.to_pem(passphrase))
    private_path.chmod(0o600)
    public_path.write_text(key.public.b64() + "\n")
    return private_path, public_path


def read_private_key(path: Path, passphrase: bytes) -> PrivateKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read key file {path}: {exc.strerror}") from exc
    return PrivateKey.from_pem(pem, passphrase)


def read_public_key(path: Path) -> PublicKey:
    try:
        return PublicKey.from_b64(path.read_text())
    except OSError as exc:
        raise InputError(f"cannot read public key file {path}: {exc.strerror}") from exc

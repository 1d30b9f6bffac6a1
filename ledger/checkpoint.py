"""Checkpoints in the C2SP signed-note, checkpoint and tlog-cosignature formats.

A checkpoint body is three lines — origin, tree size, base64 root — and a signed note appends
a blank line and one signature line per signer::

    gongkai/流长镇
    1234
    3q2+7w…=

    — gongkai/流长镇 AbCdEf…

The log signs the body with Ed25519 (signature type 0x01; key hash = first 4 bytes of
SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)). A witness adds a ``cosignature/v1`` line (type 0x04)
over ``"cosignature/v1\\ntime <unix seconds>\\n" ‖ body``, carrying the 8-byte time too.
Verification raises ``CheckpointError`` naming what failed and returns nothing.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from ledger.errors import VerificationError
from ledger.keys import PrivateKey, PublicKey
from ledger.merkle import HASH_SIZE

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
_DASH = "\u2014 "


class CheckpointError(VerificationError):
    code = "bad_checkpoint"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise CheckpointError("a checkpoint body is origin, size and root, each ending in a newline")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not origin:
            raise CheckpointError("checkpoint origin line is empty")
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise CheckpointError(f"checkpoint size {size_text!r} is not a decimal number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except ValueError as exc:
            raise CheckpointError("checkpoint root is not base64") from exc
        if len(root) != HASH_SIZE:
            raise CheckpointError("checkpoint root is not a SHA-256 hash")
        return cls(origin, int(size_text), root)


def key_hash(name: str, alg: int, public: PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public.raw).digest()[:4]


def verifier_key(name: str, public: PublicKey, alg: int = ED25519) -> str:
    """The note verifier key string: name+hexkeyhash+base64(alg ‖ key)."""
    encoded = base64.b64encode(bytes([alg]) + public.raw).decode()
    return f"{name}+{key_hash(name, alg, public).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, int, PublicKey]:
    try:
        name, hash_hex, encoded = text.strip().split("+", 2)
        blob = base64.b64decode(encoded, validate=True)
        alg, public = blob[0], PublicKey(blob[1:])
    except (ValueError, IndexError) as exc:
        raise CheckpointError(f"not a verifier key: {text.strip()!r}") from exc
    if key_hash(name, alg, public).hex() != hash_hex:
        raise CheckpointError(f"verifier key {name}: key hash does not match the key")
    return name, alg, public


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    blob: bytes  # key hash (4) ‖ [timestamp (8)] ‖ signature (64)

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.blob).decode()}\n"


@dataclass(frozen=True, slots=True)
class SignedNote:
    body: str
    signatures: tuple[Signature, ...]

    def text(self) -> str:
        return self.body + "\n" + "".join(s.line() for s in self.signatures)

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint.parse(self.body)

    @classmethod
    def parse(cls, text: str) -> SignedNote:
        body, sep, rest = text.partition("\n\n")
        if not sep or not rest.endswith("\n"):
            raise CheckpointError("a signed note is a body, a blank line and signature lines")
        signatures = []
        for line in rest[:-1].split("\n"):
            if not line.startswith(_DASH):
                raise CheckpointError(f"not a signature line: {line!r}")
            name, _, encoded = line[len(_DASH):].rpartition(" ")
            try:
                blob = base64.b64decode(encoded, validate=True)
            except ValueError as exc:
                raise CheckpointError(f"signature of {name} is not base64") from exc
            if not name or len(blob) < 4 + 64:
                raise CheckpointError(f"malformed signature line: {line!r}")
            signatures.append(Signature(name, blob))
        return cls(body + "\n", tuple(signatures))

    def with_signature(self, signature: Signature) -> SignedNote:
        return SignedNote(self.body, (*self.signatures, signature))


def sign_checkpoint(checkpoint: Checkpoint, name: str, key: PrivateKey) -> SignedNote:
    body = checkpoint.body()
    blob = key_hash(name, ED25519, key.public) + key.sign(body.encode())
    return SignedNote(body, (Signature(name, blob),))


def verify_log_signature(note: SignedNote, name: str, public: PublicKey) -> Checkpoint:
    """Raise ``CheckpointError`` unless the log's key signed this note; return its checkpoint."""
    wanted = key_hash(name, ED25519, public)
    for sig in note.signatures:
        if sig.name == name and sig.blob[:4] == wanted:
            try:
                public.verify(sig.blob[4:], note.body.encode())
            except VerificationError as exc:
                raise CheckpointError(f"the signature of {name} on the checkpoint is invalid") from exc
            checkpoint = note.checkpoint
            if checkpoint.origin != name:
                raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {name!r}")
            return checkpoint
    raise CheckpointError(f"the checkpoint carries no signature of {name}")


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign(note: SignedNote, name: str, key: PrivateKey, timestamp: int) -> SignedNote:
    """Add a witness's cosignature/v1 line (the caller has checked consistency first)."""
    blob = (
        key_hash(name, COSIGNATURE_V1, key.public)
        + struct.pack(">Q", timestamp)
        + key.sign(_cosigned_message(note.body, timestamp))
    )
    return note.with_signature(Signature(name, blob))


def verify_cosignature(note: SignedNote, name: str, public: PublicKey) -> int:
    """Raise ``CheckpointError`` unless the witness cosigned this note; return the time."""
    wanted = key_hash(name, COSIGNATURE_V1, public)
    for sig in note.signatures:
        if sig.name == name and sig.blob[:4] == wanted and len(sig.blob) == 4 + 8 + 64:
            (timestamp,) = struct.unpack(">Q", sig.blob[4:12])
            try:
                public.verify(sig.blob[12:], _cosigned_message(note.body, timestamp))
            except VerificationError as exc:
                raise CheckpointError(f"the cosignature of witness {name} is invalid") from exc
            return int(timestamp)
    raise CheckpointError(f"the checkpoint carries no cosignature of witness {name}")

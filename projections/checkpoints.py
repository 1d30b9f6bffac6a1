"""Signing, storing and reading checkpoints of the transparency log."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.checkpoint import Checkpoint, SignedNote, sign_checkpoint, verify_log_signature
from ledger.keys import PrivateKey, PublicKey
from projections.merkle_log import tree
from projections.sql import Database


def origin_of(jurisdiction: str) -> str:
    """The log's origin line (and its key name): one log per jurisdiction."""
    return f"gongkai/{jurisdiction}"


def make_checkpoint(db: Database, origin: str, key: PrivateKey) -> SignedNote:
    """Sign the current tree head and keep it (re-signing the same size returns the stored one)."""
    current = tree(db)
    existing = latest(db)
    if existing is not None and existing.checkpoint.size == current.size:
        return existing
    root = current.root()
    note = sign_checkpoint(Checkpoint(origin, current.size, root), origin, key)
    with db.transaction() as cursor:
        cursor.execute(
            "INSERT INTO gk_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)",
            (current.size, root, note.text(), datetime.now(UTC).isoformat()),
        )
    return note


def store_cosigned(db: Database, note: SignedNote, origin: str, log_key: PublicKey) -> None:
    """Replace a stored checkpoint's note by the same note with more (cosignature) lines."""
    checkpoint = verify_log_signature(note, origin, log_key)
    with db.transaction() as cursor:
        cursor.execute("SELECT note FROM gk_checkpoints WHERE size = ?", (checkpoint.size,))
        row = cursor.fetchone()
        if row is None or SignedNote.parse(str(row[0])).body != note.body:
            raise LookupError(f"no stored checkpoint with this body at size {checkpoint.size}")
        cursor.execute(
            "UPDATE gk_checkpoints SET note = ? WHERE size = ?", (note.text(), checkpoint.size)
        )


def latest(db: Database) -> SignedNote | None:
    rows = db.query("SELECT note FROM gk_checkpoints ORDER BY size DESC LIMIT 1")
    return SignedNote.parse(str(rows[0][0])) if rows else None


def all_checkpoints(db: Database) -> list[SignedNote]:
    return [SignedNote.parse(str(r[0])) for r in db.query("SELECT note FROM gk_checkpoints ORDER BY size")]

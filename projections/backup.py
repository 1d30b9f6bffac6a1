"""A consistent copy of a SQLite ledger, taken while it is in use (the SQLite backup API).

The copy is one snapshot: events, the idempotency journal, sealed parts, subject keys, read
models and checkpoints as they stood at one instant, even while a server keeps writing (the
source is only read). It is written beside the target and renamed into place after an
integrity check, so a failed backup never leaves a half file under the target's name. It never
overwrites a file. PostgreSQL has its own tools for this (``pg_dump -Fc``, ``pg_restore``).
The copy holds every subject key not yet destroyed: an erasure after the backup does not reach
it, so keep backups no longer than needed.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class BackupError(ValueError):
    pass


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy the SQLite database ``source`` to the new file ``target``; return its size in bytes."""
    if not source.is_file():
        raise BackupError(f"{source} is not a SQLite database file")
    if target.exists():
        raise BackupError(f"{target} already exists; refusing to overwrite it")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # one step: a single consistent snapshot under a read lock
        (verdict,) = dst.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    os.replace(partial, target)
    return target.stat().st_size

"""``replay --as-of``: rebuild the read models from zero as the books stood at a checkpoint or
a date, in a scratch database, and diff them against the live read models.

The cut-off is a leaf count (a checkpoint's tree size, mapped to its notification position
through the Merkle log) or the end of a day (every event whose signed ``at`` falls on or
before it). The scratch store is a SQLite file that is thrown away; the live database is
only read.
"""

from __future__ import annotations

import hashlib
import inspect
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.application import Ledger
from ledger.commands import payload_of
from projections.balances import AccountRow, BalancesProjection, accounts
from projections.merkle_log import leaf_of, tree
from projections.runner import Projection, Runner
from projections.sql import Database

CHINA = timezone(timedelta(hours=8))


class _Until(BalancesProjection):
    """The balances fold, ignoring events signed after the cut-off time."""

    def __init__(self, until: datetime) -> None:
        self.until = until

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        if datetime.fromisoformat(payload_of(event.signed)["at"]) <= self.until:  # type: ignore[attr-defined]
            super().apply(cursor, event, position)


@dataclass(frozen=True, slots=True)
class Difference:
    code: str
    kind: str
    then: dict[str, Any] | None
    now: dict[str, Any] | None


@contextmanager
def scratch_as_of(
    app: Ledger, live: Database, size: int, projections: Sequence[Projection]
) -> Iterator[Database]:
    """A throw-away database holding ``projections`` rebuilt over the first ``size`` leaves."""
    with tempfile.TemporaryDirectory(prefix="gongkai-as-of-") as folder:
        db = Database(f"sqlite:///{Path(folder) / 'as-of.db'}")
        db.tune_for_bulk()
        try:
            stop = leaf_of(live, size - 1)[0] if size > 0 else 0
            Runner(app, db, projections).catch_up(stop=stop, batched=True)
            yield db
        finally:
            db.close()


_KEPT_DDL = (
    "CREATE TABLE IF NOT EXISTS gk_kept_as_of "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, root BLOB NOT NULL, code TEXT NOT NULL)"
)


@contextmanager
def kept_as_of(
    app: Ledger, live: Database, size: int, projections: Sequence[Projection], path: Path
) -> Iterator[Database]:
    """``scratch_as_of``, kept in the SQLite file ``path`` from one call to the next, so a
    publish after new events applies only those (an incremental publish).

    The kept file is used again only if it was built by the same read-model code (a digest of
    their modules' source), at a size no larger than ``size``, and the live log still has, at
    that size, the root the file was built over (the log only grew); otherwise it is rebuilt
    from zero. It holds what the scratch store holds (the site's read models, no sealed data),
    so it belongs with the ledger's own files, never inside a published folder.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    code = _code_digest(projections)
    stop = leaf_of(live, size - 1)[0] if size > 0 else 0
    if path.exists() and not _reusable(path, live, size, code):
        path.unlink()
    new = not path.exists()
    db = Database(f"sqlite:///{path}")
    db.tune_for_bulk()
    try:
        runner = Runner(app, db, projections)
        if new and stop > 0:
            runner.rebuild(stop=stop)  # from zero: in two processes (``Runner.rebuild``)
        else:
            runner.catch_up(stop=stop, batched=True)
        root = tree(live, size).root()
        with db.transaction() as cursor:
            cursor.execute(_KEPT_DDL)
            cursor.execute(
                "INSERT INTO gk_kept_as_of (id, size, root, code) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, "
                "code = excluded.code",
                (size, root, code),
            )
        yield db
    finally:
        db.close()


def _reusable(path: Path, live: Database, size: int, code: str) -> bool:
    db = Database(f"sqlite:///{path}")
    try:
        with db.transaction() as cursor:
            cursor.execute(_KEPT_DDL)
        rows = db.query("SELECT size, root, code FROM gk_kept_as_of WHERE id = 1")
        if not rows:
            return False
        kept_size, kept_root, kept_code = int(rows[0][0]), bytes(rows[0][1]), str(rows[0][2])
        if kept_code != code or not 0 < kept_size <= size:
            return False
        return tree(live, kept_size).root() == kept_root
    except (sqlite3.DatabaseError, LookupError, ValueError):
        return False  # an unreadable or foreign file: built again
    finally:
        db.close()


def _code_digest(projections: Sequence[Projection]) -> str:
    """SHA-256 over the source of the modules defining ``projections`` (and this one)."""
    digest = hashlib.sha256()
    for module in sorted({type(p).__module__ for p in projections} | {__name__}):
        source = inspect.getsourcefile(sys.modules[module])
        digest.update(module.encode() + b"\0" + (Path(source).read_bytes() if source else b""))
    return digest.hexdigest()


def as_of(app: Ledger, live: Database, *, size: int | None = None, day: date | None = None) -> list[AccountRow]:
    """The accounts as they stood after ``size`` leaves, or at the end of ``day`` (UTC+8)."""
    with tempfile.TemporaryDirectory(prefix="gongkai-replay-") as scratch:
        db = Database(f"sqlite:///{Path(scratch) / 'replay.db'}")
        try:
            if size is not None:
                stop = leaf_of(live, size - 1)[0] if size > 0 else 0
                Runner(app, db, [BalancesProjection()]).catch_up(stop=stop)
            elif day is not None:
                until = datetime.combine(day, datetime.max.time(), CHINA)
                Runner(app, db, [_Until(until)]).catch_up()
            else:
                raise ValueError("give a checkpoint size or a date")
            return accounts(db)
        finally:
            db.close()


def diff(then: list[AccountRow], now: list[AccountRow]) -> list[Difference]:
    before = {(a.kind, a.code): a.to_json() for a in then}
    after = {(a.kind, a.code): a.to_json() for a in now}
    return [
        Difference(code, kind, before.get((kind, code)), after.get((kind, code)))
        for kind, code in sorted(before.keys() | after.keys())
        if before.get((kind, code)) != after.get((kind, code))
    ]

"""``replay --as-of``: rebuild the read models from zero as the books stood at a checkpoint or
a date, in a scratch database, and diff them against the live read models.

The cut-off is a leaf count (a checkpoint's tree size, mapped to its notification position
through the Merkle log) or the end of a day (every event whose signed ``at`` falls on or
before it). The scratch store is a SQLite file that is thrown away; the live database is
only read.
"""

from __future__ import annotations

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
from projections.merkle_log import leaf_of
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
        try:
            stop = leaf_of(live, size - 1)[0] if size > 0 else 0
            Runner(app, db, projections).catch_up(stop=stop)
            yield db
        finally:
            db.close()


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

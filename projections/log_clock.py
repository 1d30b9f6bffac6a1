"""The log's clock: the latest signed time of any event folded so far.

A site built as of a checkpoint must not read the wall clock (the same checkpoint must give the
same bytes), yet deadlines need a "today". This read model keeps the latest ``at`` that the
officials signed into the events up to the checkpoint — the log's own time — in China's time
zone (UTC+8), where the day of a deadline is counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from projections.runner import Events, signed_payloads
from projections.sql import Database

CHINA = timezone(timedelta(hours=8))


class LogClockProjection:
    name = "log_clock"
    tables = ("gk_log_clock",)

    def create(self, cursor: Any, dialect: str) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_log_clock (id INTEGER PRIMARY KEY, latest TEXT NOT NULL, "
            "position BIGINT NOT NULL)"
        )

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_page(cursor, [(event, position)])

    def apply_page(self, cursor: Any, events: Events) -> None:
        """The latest time of the page's events, if later than the one kept: one read, at most
        one write (the position is that of the first event at the latest time, as event by
        event)."""
        cursor.execute("SELECT latest FROM gk_log_clock WHERE id = 1")
        row = cursor.fetchone()
        kept = datetime.fromisoformat(row[0]) if row is not None else None
        latest: tuple[datetime, int] | None = None
        for _, payload, position in signed_payloads(events):
            at = datetime.fromisoformat(payload["at"]).astimezone(CHINA)
            if (latest is None or at > latest[0]) and (kept is None or at > kept):
                latest = (at, position)
        if latest is None:
            return
        at, position = latest
        if row is None:
            cursor.execute(
                "INSERT INTO gk_log_clock (id, latest, position) VALUES (1, ?, ?)", (at.isoformat(), position)
            )
        else:
            cursor.execute(
                "UPDATE gk_log_clock SET latest = ?, position = ? WHERE id = 1", (at.isoformat(), position)
            )


def log_time(db: Database) -> str | None:
    """The latest signed time in the log so far (ISO 8601, UTC+8), or None for an empty log."""
    rows = db.query("SELECT latest FROM gk_log_clock WHERE id = 1")
    return str(rows[0][0]) if rows else None

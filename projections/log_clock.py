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

from ledger.commands import read_payload
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
        signed = getattr(event, "signed", None)
        if signed is None:  # pragma: no cover - every ledger event is signed
            return
        at = datetime.fromisoformat(read_payload(signed)["at"]).astimezone(CHINA)
        cursor.execute("SELECT latest FROM gk_log_clock WHERE id = 1")
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "INSERT INTO gk_log_clock (id, latest, position) VALUES (1, ?, ?)",
                (at.isoformat(), position),
            )
        elif at > datetime.fromisoformat(row[0]):
            cursor.execute(
                "UPDATE gk_log_clock SET latest = ?, position = ? WHERE id = 1", (at.isoformat(), position)
            )


def log_time(db: Database) -> str | None:
    """The latest signed time in the log so far (ISO 8601, UTC+8), or None for an empty log."""
    rows = db.query("SELECT latest FROM gk_log_clock WHERE id = 1")
    return str(rows[0][0]) if rows else None

"""The baseline writer: a plain eventsourcing aggregate whose events carry the same fields and
the same bytes as the ledger's (signed JSON text, base64 signature, key id), saved with the
library's own recorder for the same database, with nothing checked and no journal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from projections.store import database_env

_LIBRARY = {
    "projections.store:JournalSQLiteFactory": "eventsourcing.sqlite",
    "projections.store:JournalPostgresFactory": "eventsourcing.postgres",
}


class Pot(Aggregate):
    """An aggregate that only counts what it is given."""

    def __init__(self) -> None:
        self.count = 0

    @event("Recorded")
    def record(self, signed: str, sig: str, key_id: str) -> None:
        self.count += 1


class Bare(Application[UUID]):
    name = "bare"
    env: ClassVar[dict[str, str]] = {"COMPRESSOR_TOPIC": ""}


def bare_app(url: str) -> Bare:
    """A bare application on ``url`` with the library's plain recorder for that database."""
    env: dict[str, Any] = dict(database_env(url))
    env["PERSISTENCE_MODULE"] = _LIBRARY[env["PERSISTENCE_MODULE"]]
    return Bare(env=env)


def save_each(app: Bare, payloads: Sequence[tuple[str, str, str]]) -> None:
    """One transaction per event, like one command per request."""
    pot = Pot()
    app.save(pot)
    for signed, sig, key_id in payloads:
        pot.record(signed, sig, key_id)
        app.save(pot)


def save_chunks(app: Bare, payloads: Sequence[tuple[str, str, str]], chunk: int) -> None:
    """``chunk`` events per transaction, like a batch."""
    pot = Pot()
    app.save(pot)
    for start in range(0, len(payloads), chunk):
        for signed, sig, key_id in payloads[start : start + chunk]:
            pot.record(signed, sig, key_id)
        app.save(pot)

"""The composition root: builds the ledger, its read-model database and runners from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from api.config import Settings
from ledger.application import Ledger
from ledger.keys import PrivateKey, read_private_key, write_keypair
from projections.balances import BalancesProjection
from projections.checkpoints import origin_of
from projections.deadlines import DisclosureProjection
from projections.flows import FlowsProjection
from projections.merkle_log import MerkleProjection
from projections.recipients import RecipientsProjection
from projections.runner import Projection, Runner
from projections.sql import Database
from projections.store import database_env
from projections.tracing import TracingProjection


@dataclass
class Services:
    settings: Settings
    ledger: Ledger
    _db: Database | None = field(default=None, repr=False)
    _runner: Runner | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.settings.database_url)
        return self._db

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            projections: list[Projection] = [
                BalancesProjection(),
                MerkleProjection(),
                FlowsProjection(),
                RecipientsProjection(),
                DisclosureProjection(),
                TracingProjection(),
            ]
            self._runner = Runner(self.ledger, self.db, projections)
        return self._runner

    @property
    def origin(self) -> str:
        return origin_of(self.ledger.registry().jurisdiction)

    def log_key(self, *, create: bool = False) -> PrivateKey:
        """The log's signing key (created on first use by ``init`` and ``demo``)."""
        return self._server_key(self.settings.log_key_file, create=create)

    def intake_key(self, *, create: bool = False) -> PrivateKey:
        """The key that records public feedback (role ``intake``; created by ``init``/``demo``)."""
        return self._server_key(self.settings.intake_key_file, create=create)

    def _server_key(self, path: Path, *, create: bool) -> PrivateKey:
        if not path.exists() and create:
            write_keypair(PrivateKey.generate(), path.with_suffix(""), self.settings.log_passphrase())
        return read_private_key(path, self.settings.log_passphrase())

    def read_models(self) -> Database:
        """The read-model database, caught up with every recorded event."""
        self.runner.catch_up()
        return self.db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self.ledger.close()


def bootstrap(settings: Settings) -> Services:
    return Services(settings=settings, ledger=Ledger(env=database_env(settings.database_url)))

"""One settings object, read from the environment in one place (house rule 11).

GONGKAI_DATABASE_URL   sqlite:///path (default ./var/gongkai.db) or postgresql://…
GONGKAI_ENV            development (default) or production
GONGKAI_PASSPHRASE     passphrase of the key file given with --as (scripts; else a prompt)
GONGKAI_PASSPHRASE_FILE  a file holding that passphrase
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/gongkai.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    environment: str = "development"
    passphrase: str | None = None
    passphrase_file: Path | None = None

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        env = os.environ
        pass_file = env.get("GONGKAI_PASSPHRASE_FILE")
        return cls(
            database_url=database_url or env.get("GONGKAI_DATABASE_URL") or DEFAULT_DATABASE_URL,
            environment=env.get("GONGKAI_ENV", "development"),
            passphrase=env.get("GONGKAI_PASSPHRASE"),
            passphrase_file=Path(pass_file) if pass_file else None,
        )

"""One settings object, read from the environment in one place (house rule 11).

GONGKAI_DATABASE_URL   sqlite:///path (default ./var/gongkai.db) or postgresql://…
GONGKAI_ENV            development (default) or production
GONGKAI_PASSPHRASE     passphrase of the key file given with --as (scripts; else a prompt)
GONGKAI_PASSPHRASE_FILE  a file holding that passphrase
GONGKAI_LOG_KEY_FILE   the log's own signing key (default ./var/log.key; made by `init`/`demo`)
GONGKAI_LOG_KEY_PASSPHRASE  its passphrase (required in production; a fixed one in development)
GONGKAI_SITE_DIR       a portal made by `gongkai publish`, served at /portal/ (default ./var/site)
GONGKAI_INTAKE_KEY_FILE the server's key for recording public feedback (default ./var/intake.key;
                       same passphrase as the log key; enrolled with role ``intake`` by `init`)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/gongkai.db"
DEFAULT_LOG_KEY_FILE = "var/log.key"
DEFAULT_INTAKE_KEY_FILE = "var/intake.key"
DEFAULT_SITE_DIR = "var/site"
DEVELOPMENT_LOG_KEY_PASSPHRASE = "gongkai-development-log-key"  # noqa: S105 - development only


class ConfigurationError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    environment: str = "development"
    passphrase: str | None = None
    passphrase_file: Path | None = None
    log_key_file: Path = Path(DEFAULT_LOG_KEY_FILE)
    log_key_passphrase: str | None = None
    intake_key_file: Path = Path(DEFAULT_INTAKE_KEY_FILE)
    site_dir: Path = Path(DEFAULT_SITE_DIR)

    def log_passphrase(self) -> bytes:
        """The log key's passphrase; outside development there is no default."""
        if self.log_key_passphrase:
            return self.log_key_passphrase.encode()
        if self.environment == "development":
            return DEVELOPMENT_LOG_KEY_PASSPHRASE.encode()
        raise ConfigurationError(
            "GONGKAI_LOG_KEY_PASSPHRASE must be set outside development (GONGKAI_ENV)"
        )

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        env = os.environ
        pass_file = env.get("GONGKAI_PASSPHRASE_FILE")
        return cls(
            database_url=database_url or env.get("GONGKAI_DATABASE_URL") or DEFAULT_DATABASE_URL,
            environment=env.get("GONGKAI_ENV", "development"),
            passphrase=env.get("GONGKAI_PASSPHRASE"),
            passphrase_file=Path(pass_file) if pass_file else None,
            log_key_file=Path(env.get("GONGKAI_LOG_KEY_FILE") or DEFAULT_LOG_KEY_FILE),
            log_key_passphrase=env.get("GONGKAI_LOG_KEY_PASSPHRASE"),
            intake_key_file=Path(env.get("GONGKAI_INTAKE_KEY_FILE") or DEFAULT_INTAKE_KEY_FILE),
            site_dir=Path(env.get("GONGKAI_SITE_DIR") or DEFAULT_SITE_DIR),
        )

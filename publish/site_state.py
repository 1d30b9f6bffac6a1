"""What the last publish wrote into its site folder, so the next one writes only what changed.

Kept beside the log key (``publish-site.db``, with the kept read models), never in the site:
for each file of the site its path, its SHA-256, its size and modification time as written, and
for a page that depends only on its own record (a donation's page and JSON) the key of what it
was rendered from. The next publish into the same folder, with the same code and templates
(``render_version``):

- skips rendering a per-record page whose key is unchanged and whose file is still the one it
  wrote (same size and modification time, as git's index trusts a file);
- leaves a file it rendered to the same bytes untouched;
- deletes the files of the last site that this one no longer has;
- appends to the public bundle instead of rewriting it (``publish.bundle``).

Anything else — another folder, other code, a file changed by hand, a publish that stopped half
way (the state is cleared when a publish begins and saved when it ends) — makes that file, or
the whole site, be written again from zero. Either way the folder ends byte for byte the same
as a publish into an empty folder (tested). Stored as SQLite so a million-event site's state
(some 120,000 files) loads and saves in well under a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version as installed
from pathlib import Path
from typing import Any, NamedTuple

_PACKAGES = ("ledger", "projections", "publish")
_ROOT = Path(__file__).resolve().parent.parent


class Entry(NamedTuple):
    """One file of the site as the last publish left it (a tuple: a site has some 120,000)."""

    key: str  # what a per-record page was rendered from ('' for the others)
    sha256: str
    size: int
    mtime_ns: int

    def still_on_disk(self, path: Path | str) -> bool:
        """The file is the one written (same size and modification time)."""
        try:
            found = os.stat(path)
        except FileNotFoundError:
            return False
        return found.st_size == self.size and found.st_mtime_ns == self.mtime_ns


@dataclass(frozen=True, slots=True)
class BundleMark:
    """How far the last publish's bundle went: its tree size and root, and the byte length and
    modification time of ``events.jsonl`` as it left it."""

    size: int
    root: bytes
    events_bytes: int
    events_mtime_ns: int

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "root": self.root.hex(), "events_bytes": self.events_bytes,
                "events_mtime_ns": self.events_mtime_ns}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BundleMark:
        return cls(int(data["size"]), bytes.fromhex(data["root"]), int(data["events_bytes"]),
                   int(data["events_mtime_ns"]))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Previous:
    """The last publish into this folder with this code: its files and its bundle."""

    files: dict[str, Entry]
    bundle: BundleMark | None


def render_version() -> str:
    """A digest of everything a page's bytes depend on besides its data: the source of the
    ledger, read models and publisher (templates and static files included) and the versions of
    the libraries that render and serialise."""
    digest = hashlib.sha256()
    for package in _PACKAGES:
        for path in sorted((_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(
                    path.relative_to(_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0"
                )
    for library in ("jinja2", "markupsafe", "fpdf2", "segno", "fonttools"):
        digest.update(f"{library}=={installed(library)}\0".encode())
    return digest.hexdigest()


class SiteState:
    """The state file of one publisher (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, key TEXT NOT NULL, "
                         "sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL)")  # fmt: skip

    def close(self) -> None:
        self._db.close()

    def begin(self, out: Path, version: str) -> Previous | None:
        """The last publish into ``out`` with this ``version``, or None (publish from zero).
        Clears the state: until ``save``, a publish that stops half way leaves none."""
        meta = dict(self._db.execute("SELECT name, value FROM meta").fetchall())
        previous = None
        if meta.get("out") == str(out.resolve()) and meta.get("version") == version:
            files = {str(p): Entry(str(k), str(s), int(n), int(m))
                     for p, k, s, n, m in self._db.execute("SELECT path, key, sha256, size, mtime_ns FROM files")}  # fmt: skip
            bundle = json.loads(meta["bundle"]) if meta.get("bundle") else None
            previous = Previous(files, BundleMark.from_json(bundle) if bundle else None)
        self._db.execute("DELETE FROM meta")
        return previous

    def save(self, out: Path, version: str, files: dict[str, Entry], bundle: BundleMark,
             previous: Previous | None = None) -> None:  # fmt: skip
        """Keep ``files`` as this publish left them; ``previous``: what ``begin`` returned, whose
        entries are still stored, so only the differences are written."""
        with self._transaction():
            if previous is None:
                self._db.execute("DELETE FROM files")
                changed = files
            else:
                old = previous.files
                self._db.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in old if p not in files))
                changed = {p: e for p, e in files.items() if old.get(p) != e}
            self._db.executemany("INSERT INTO files (path, key, sha256, size, mtime_ns) VALUES (?, ?, ?, ?, ?) "
                                 "ON CONFLICT (path) DO UPDATE SET key = excluded.key, sha256 = excluded.sha256, "
                                 "size = excluded.size, mtime_ns = excluded.mtime_ns",
                                 ((p, e.key, e.sha256, e.size, e.mtime_ns) for p, e in changed.items()))  # fmt: skip
            self._db.executemany("INSERT INTO meta (name, value) VALUES (?, ?)",
                                 [("out", str(out.resolve())), ("version", version),
                                  ("bundle", json.dumps(bundle.to_json()))])  # fmt: skip

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

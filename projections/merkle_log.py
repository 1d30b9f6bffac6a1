"""The transparency log maintainer: every stored event, in the global order, is a Merkle leaf.

A projection run by ``projections.runner.Runner`` (exactly once, resumable, both backends).
It stores every perfect-subtree hash (``gk_merkle_nodes``: at most 2n rows) so any root or
proof needs O(log n) node reads, and ``gk_merkle_leaves`` maps leaf index → notification id,
aggregate and version. Per page it keeps only the tree's right edge (O(log n) hashes) in memory.
Signed checkpoints are kept in ``gk_checkpoints`` with their witness cosignatures.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.ids import id_text
from ledger.merkle import CompactRange, Tree, event_leaf, perfect_nodes
from projections.runner import Events
from projections.sql import Database


def stored_leaf(event: Any) -> bytes:
    """The leaf hash of a decoded stored event: over its exact signed bytes, signature, key id."""
    # a2b_base64 is what b64decode calls, without its copy of the text as bytes first
    return event_leaf(event.signed.encode("utf-8"), binascii.a2b_base64(event.sig), event.key_id)


class MerkleProjection:
    name = "merkle"
    tables = ("gk_merkle_nodes", "gk_merkle_leaves")
    rebuild_cost = 14  # its share of a rebuild's work (``Runner.rebuild`` splits by it)

    def __init__(self) -> None:
        self._range: CompactRange | None = None

    def create(self, cursor: Any, dialect: str) -> None:
        blob = "BYTEA" if dialect == "postgresql" else "BLOB"
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_merkle_nodes (level INTEGER NOT NULL, "
            f"idx BIGINT NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (level, idx))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_merkle_leaves (idx BIGINT PRIMARY KEY, "
            "notification_id BIGINT NOT NULL UNIQUE, aggregate_id TEXT NOT NULL, "
            "version INTEGER NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_checkpoints (size BIGINT PRIMARY KEY, "
            f"root {blob} NOT NULL, note TEXT NOT NULL, created_at TEXT NOT NULL)"
        )

    def begin(self, cursor: Any) -> None:
        """Load the right edge of the tree as committed (called at the start of each page)."""
        cursor.execute("SELECT MAX(idx) FROM gk_merkle_leaves")
        row = cursor.fetchone()
        size = 0 if row is None or row[0] is None else int(row[0]) + 1
        keys = perfect_nodes(0, size)
        found = _select_nodes(cursor, keys)
        self._range = CompactRange(size, [found[k] for k in keys])

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_page(cursor, [(event, position)])

    def apply_page(self, cursor: Any, events: Events) -> None:
        """The page's leaves and the perfect-subtree nodes they complete, one statement each."""
        tree = self._range
        assert tree is not None, "begin() loads the tree edge before apply()"
        nodes: list[tuple[int, int, bytes]] = []
        leaves: list[tuple[int, int, str, int]] = []
        for event, position in events:
            index = tree.size
            nodes += tree.append(stored_leaf(event))
            leaves.append((index, position, id_text(event.originator_id), event.originator_version))
        cursor.executemany("INSERT INTO gk_merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
        cursor.executemany(
            "INSERT INTO gk_merkle_leaves (idx, notification_id, aggregate_id, version) "
            "VALUES (?, ?, ?, ?)",
            leaves,
        )


def _select_nodes(cursor: Any, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    if not keys:
        return {}
    where = " OR ".join("(level = ? AND idx = ?)" for _ in keys)
    params = [v for k in keys for v in k]
    cursor.execute(f"SELECT level, idx, hash FROM gk_merkle_nodes WHERE {where}", params)
    found = {(int(r[0]), int(r[1])): bytes(r[2]) for r in cursor.fetchall()}
    missing = [k for k in keys if k not in found]
    if missing:
        raise LookupError(f"Merkle nodes missing from the store: {missing[:3]}")
    return found


class DatabaseNodes:
    """``NodeSource`` over the stored perfect-subtree hashes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        with self.db.read() as cursor:
            return _select_nodes(cursor, keys)


def tree_size(db: Database) -> int:
    row = db.query("SELECT MAX(idx) FROM gk_merkle_leaves")
    return 0 if not row or row[0][0] is None else int(row[0][0]) + 1


def tree(db: Database, size: int | None = None) -> Tree:
    current = tree_size(db)
    if size is None:
        size = current
    if not 0 <= size <= current:
        raise ValueError(f"the log has {current} leaves; there is no tree of size {size}")
    return Tree(DatabaseNodes(db), size)


def compact_range(db: Database, size: int) -> CompactRange:
    """The right edge of the tree of ``size`` leaves, from the stored perfect subtrees: append
    leaf ``size`` and on to it to get the roots of the larger trees."""
    keys, start = [], 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    nodes = DatabaseNodes(db).nodes(keys)
    return CompactRange(size, [nodes[k] for k in keys])


def leaf_of(db: Database, index: int) -> tuple[int, str, int]:
    rows = db.query(
        "SELECT notification_id, aggregate_id, version FROM gk_merkle_leaves WHERE idx = ?",
        (index,),
    )
    if not rows:
        raise LookupError(f"no leaf {index} in the log")
    return int(rows[0][0]), str(rows[0][1]), int(rows[0][2])

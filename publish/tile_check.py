"""Check a bundle's C2SP tlog-tiles against the leaves recomputed from its events, streaming.

Leaves are fed in order with their entry data. Every 256 leaves the level-0 hash tile and the
entry bundle are compared with the files ``projections.tiles`` writes, and the perfect subtree
of those 256 leaves becomes one hash of level 1 (tree level 8), and so on up: memory holds at
most 256 hashes per tile level. ``finish`` checks the partial tiles (``.p/<width>``) of the
right edge. Mismatches are collected as ``TileProblem``s; the first leaf whose hash differs
from the published level-0 tiles is kept, to name the leaf when the root does not match.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ledger.merkle import HASH_SIZE, node_hash
from projections.tiles import HEIGHT, WIDTH, tile_path


@dataclass(frozen=True, slots=True)
class TileProblem:
    path: str
    message: str


def tile_name(prefix: str, index: int, width: int) -> str:
    suffix = f".p/{width}" if width < WIDTH else ""
    return f"{prefix}/{tile_path(index)}{suffix}"


def _perfect_root(hashes: list[bytes]) -> bytes:
    level = hashes
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class TileChecker:
    def __init__(self, bundle: Path) -> None:
        self.bundle = bundle
        self.levels: list[list[bytes]] = [[]]  # hashes of the current tile, per tile level
        self.tiles_done: list[int] = [0]
        self.entries: list[bytes] = []
        self.entry_tiles = 0
        self.problems: list[TileProblem] = []
        self.first_bad_leaf: int | None = None
        self.files = 0

    def add(self, leaf: bytes, data: bytes) -> None:
        self.entries.append(struct.pack(">H", len(data)) + data)
        self._push(0, leaf)
        if len(self.entries) == WIDTH:
            self._check_entries()

    def finish(self) -> None:
        if self.entries:
            self._check_entries()
        for level, hashes in enumerate(self.levels):
            if hashes:
                self._check_tile(level, hashes)

    def _push(self, level: int, value: bytes) -> None:
        hashes = self.levels[level]
        hashes.append(value)
        if len(hashes) == WIDTH:
            self._check_tile(level, hashes)
            self.tiles_done[level] += 1
            self.levels[level] = []
            if level + 1 == len(self.levels):
                self.levels.append([])
                self.tiles_done.append(0)
            self._push(level + 1, _perfect_root(hashes))

    def _read(self, name: str) -> bytes | None:
        path = self.bundle / name
        if not path.is_file():
            self.problems.append(TileProblem(name, "tile is missing from the bundle"))
            return None
        self.files += 1
        return path.read_bytes()

    def _check_tile(self, level: int, hashes: list[bytes]) -> None:
        index = self.tiles_done[level]
        name = tile_name(f"tile/{level}", index, len(hashes))
        published = self._read(name)
        if published is None:
            return
        expected = b"".join(hashes)
        if published == expected:
            return
        if len(published) != len(expected):
            self.problems.append(TileProblem(
                name, f"holds {len(published) // HASH_SIZE} hashes, the events give {len(hashes)}"
            ))  # fmt: skip
        for offset in range(min(len(hashes), len(published) // HASH_SIZE)):
            if published[offset * HASH_SIZE : (offset + 1) * HASH_SIZE] != hashes[offset]:
                first = (index * WIDTH + offset) << (level * HEIGHT)
                what = f"leaf {first}" if level == 0 else (
                    f"the subtree of leaves {first}..{first + (1 << level * HEIGHT) - 1}"
                )  # fmt: skip
                self.problems.append(TileProblem(
                    name, f"hash {offset} ({what}) differs from the one recomputed from events.jsonl"
                ))  # fmt: skip
                if level == 0 and self.first_bad_leaf is None:
                    self.first_bad_leaf = first
                break

    def _check_entries(self) -> None:
        name = tile_name("tile/entries", self.entry_tiles, len(self.entries))
        published = self._read(name)
        if published is not None and published != b"".join(self.entries):
            first = self.entry_tiles * WIDTH + _first_difference(published, self.entries)
            self.problems.append(TileProblem(
                name, f"the entry bundle differs from events.jsonl at leaf {first}"
            ))  # fmt: skip
        self.entry_tiles += 1
        self.entries = []


def _first_difference(published: bytes, entries: list[bytes]) -> int:
    """The index of the first entry of a bundle that is not the recomputed one."""
    offset = 0
    for i, entry in enumerate(entries):
        if published[offset : offset + len(entry)] != entry:
            return i
        offset += len(entry)
    return len(entries)

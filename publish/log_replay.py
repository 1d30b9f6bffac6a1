"""Replay a public bundle's ``events.jsonl``: leaves and root, tiles, signatures, rules, figures.

One pass over the lines, in log order, with no database of the ledger:

* each line's leaf, SHA-256(0x00 ‖ signed ‖ sig ‖ key id), folded into the root (the tree's
  right edge only) and handed to ``TileChecker`` with its entry data; the root at the size of
  every earlier checkpoint is kept, to compare with it;
* each command (identical consecutive lines are one command stored on two aggregates) has its
  Ed25519 signature checked against the key registry *as it stood at that point*, replayed from
  the registry's own entries (``registry.found`` enrols the self-signed administrator,
  ``official.enrol`` adds a key, ``official.revoke`` ends one) — every bad signature is named;
* each command is decided again with the write side's own rules (``ledger.decide.Unit`` on
  aggregates rebuilt in memory, as the auditor's ``gongkai verify`` does: role and department as
  they stood, invariants, corrections once) and must yield as many events as it has lines; this
  check stops at the first refusal, since later commands depend on the state it would leave;
* each command is fed to ``projections.flows.FlowsProjection`` in a scratch SQLite file, from
  which ``figures_of`` computes every figure with the site's own ``publish.site_figures``.

Problems are collected, never raised; a malformed line is named and skipped.
"""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.batch import verify_command
from ledger.commands import SignedCommand, payload_of
from ledger.decide import Unit
from ledger.errors import LedgerError
from ledger.keys import PublicKey
from ledger.merkle import CompactRange, leaf_hash
from projections.flows import FlowsProjection
from projections.reports import Scope, flow_report, goods_totals
from projections.sql import Database
from publish.site_figures import Figure, Figures
from publish.tile_check import TileChecker

MAX_PROBLEMS = 50  # per kind: a rewritten log is named by its first differences, not all of them


@dataclass(frozen=True, slots=True)
class LogProblem:
    check: str  # "event", "signature", "rules"
    leaf: int
    message: str


@dataclass
class Replayed:
    leaves: int = 0
    commands: int = 0
    root: bytes = b""
    roots: dict[int, bytes] = field(default_factory=dict)  # root at each earlier checkpoint's size
    figures: dict[str, Figure] = field(default_factory=dict)
    problems: list[LogProblem] = field(default_factory=list)
    rules_checked: int = 0
    tiles: TileChecker | None = None


@dataclass(frozen=True, slots=True)
class _Line:
    index: int
    signed: str
    sig: bytes
    key_id: str
    payload: dict[str, Any]

    @property
    def command_key(self) -> tuple[str, bytes, str]:
        return (self.signed, self.sig, self.key_id)


@dataclass(frozen=True, slots=True)
class _FlowEvent:
    """What ``FlowsProjection.apply`` reads of a stored event."""

    signed: str
    originator_id: UUID


class KeyRegistry:
    """Which keys were enrolled and not revoked, as the registry's entries so far say."""

    def __init__(self) -> None:
        self.keys: dict[str, PublicKey] = {}
        self.revoked: dict[str, str] = {}
        self.founded = False

    def check(self, line: _Line) -> str | None:
        """Why this command's signature is not valid at this point, or ``None``."""
        payload = line.payload
        if payload.get("by") != line.key_id:
            return f"the signed 'by' {payload.get('by')!r} is not the line's key_id {line.key_id}"
        if payload.get("cmd") == "registry.found" and not self.founded:
            try:
                key = PublicKey.from_b64(payload["body"]["administrator"]["public_key"])
            except (KeyError, TypeError, LedgerError):
                return "the genesis names no administrator's public key"
            if key.key_id != line.key_id:
                return "the genesis is not signed by the administrator it enrols"
        elif line.key_id in self.revoked:
            return f"key {line.key_id} was revoked at {self.revoked[line.key_id]}"
        else:
            found = self.keys.get(line.key_id)
            if found is None:
                return f"key {line.key_id} is not enrolled in the registry at this point"
            key = found
        try:
            verify_command(key, line.sig, line.signed.encode("utf-8"))  # plain or batch
        except LedgerError:
            return f"the Ed25519 signature of key {line.key_id} does not verify over the signed text"
        return None

    def apply(self, payload: dict[str, Any]) -> None:
        cmd, body = payload.get("cmd"), payload.get("body") or {}
        if cmd == "registry.found":
            self.founded = True
            self._enrol(body.get("administrator") or {})
        elif cmd == "official.enrol":
            self._enrol(body)
        elif cmd == "official.revoke":
            self.revoked[str(body.get("key_id"))] = str(payload.get("at"))

    def _enrol(self, data: dict[str, Any]) -> None:
        try:
            key = PublicKey.from_b64(str(data.get("public_key")))
        except LedgerError:
            return
        self.keys[key.key_id] = key


class _BundleBacking:
    """Aggregates rebuilt from the bundle so far, and the payloads of their events."""

    def __init__(self) -> None:
        self.aggregates: dict[UUID, Aggregate] = {}
        self.payloads: dict[tuple[UUID, int], dict[str, Any]] = {}
        self.idems: set[str] = set()

    def load(self, aggregate_id: UUID) -> Aggregate | None:
        return self.aggregates.get(aggregate_id)

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.aggregates

    def stored_payload(self, aggregate_id: UUID, version: int) -> dict[str, Any]:
        found = self.payloads.get((aggregate_id, version))
        if found is None:
            raise LookupError(f"no event v{version} of {aggregate_id} earlier in the bundle")
        return found

    def find_command(self, idem: str) -> str | None:
        return "seen" if idem in self.idems else None


class Replayer:
    def __init__(self, bundle: Path, checkpoint_sizes: set[int]) -> None:
        self.result = Replayed(tiles=TileChecker(bundle))
        self.sizes = checkpoint_sizes
        self.tree = CompactRange()
        self.registry = KeyRegistry()
        self.backing = _BundleBacking()
        self.rules_stopped = False
        self.counts: dict[str, int] = {}

    def problem(self, check: str, leaf: int, message: str) -> None:
        self.counts[check] = self.counts.get(check, 0) + 1
        if self.counts[check] <= MAX_PROBLEMS:
            self.result.problems.append(LogProblem(check, leaf, message))

    def run(self, events: Path) -> Replayed:
        tiles = self.result.tiles
        assert tiles is not None
        with tempfile.TemporaryDirectory(prefix="gongkai-verify-") as scratch:
            db = Database(f"sqlite:///{Path(scratch) / 'flows.db'}")
            try:
                flows = FlowsProjection()
                with db.transaction() as cursor:
                    flows.create(cursor, db.dialect)
                    group: list[_Line] = []
                    with events.open(encoding="utf-8") as lines:
                        for number, text in enumerate(lines):
                            line = self._leaf(number, text, tiles)
                            if line is None:
                                continue
                            if group and line.command_key != group[0].command_key:
                                self._command(group, cursor, flows)
                                group = []
                            group.append(line)
                    if group:
                        self._command(group, cursor, flows)
                tiles.finish()
                self.result.figures = figures_of(db)
            finally:
                db.close()
        self.result.leaves = self.tree.size
        self.result.root = self.tree.root()
        return self.result

    def _leaf(self, number: int, text: str, tiles: TileChecker) -> _Line | None:
        index = self.tree.size
        try:
            raw = json.loads(text)
            signed, sig_text, key_id = raw["signed"], raw["sig"], raw["key_id"]
            if not (isinstance(signed, str) and isinstance(sig_text, str) and isinstance(key_id, str)):
                raise TypeError("signed, sig and key_id must be strings")
            sig = base64.b64decode(sig_text, validate=True)
            data = signed.encode("utf-8") + sig + key_id.encode("ascii")
            payload = payload_of(signed)
        except (ValueError, KeyError, TypeError, AssertionError, binascii.Error) as error:
            self.problem("event", index, f"line {number + 1} of events.jsonl is not an entry: {error}")
            return None
        if raw.get("index") != index:
            self.problem("event", index, f"line {number + 1} says index {raw.get('index')!r}, its place is {index}")
        if raw.get("sealed") != payload.get("sealed"):
            self.problem("event", index, "the line's 'sealed' digest is not the one in the signed text")
        leaf = leaf_hash(data)
        self.tree.append(leaf)
        tiles.add(leaf, data)
        if self.tree.size in self.sizes:
            self.result.roots[self.tree.size] = self.tree.root()
        return _Line(index, signed, sig, key_id, payload)

    def _command(self, group: list[_Line], cursor: Any, flows: FlowsProjection) -> None:
        first = group[0]
        self.result.commands += 1
        reason = self.registry.check(first)
        if reason is None:
            self.registry.apply(first.payload)
        else:
            self.problem("signature", first.index, f"{first.payload.get('cmd')}: {reason}")
        self._rules(group)
        targets = first.payload.get("targets") or []
        try:
            event = _FlowEvent(first.signed, UUID(str(targets[0])))
            flows.apply(cursor, cast(Any, event), first.index + 1)
        except (ValueError, KeyError, TypeError, IndexError) as error:
            self.problem("event", first.index, f"{first.payload.get('cmd')}: cannot be read as a flow: {error!r}")

    def _rules(self, group: list[_Line]) -> None:
        if self.rules_stopped:
            return
        first = group[0]
        unit = Unit(self.backing, replay=True)  # sealed parts are digests here: checked at submit
        cmd = first.payload.get("cmd")
        try:
            result = unit.decide(SignedCommand(first.signed.encode("utf-8"), first.sig, first.key_id))
        except (LedgerError, LookupError, ValueError, TypeError) as error:
            message = f"{error.code}: {error.message}" if isinstance(error, LedgerError) else str(error)
            self._stop_rules(first.index, f"{cmd}: refused by the ledger's rules ({message})")
            return
        if result.duplicate:
            self._stop_rules(first.index, f"{cmd}: idempotency key {result.idem} was recorded twice")
        elif len(unit.events) != len(group):
            self._stop_rules(first.index, f"{cmd}: the command yields {len(unit.events)} event(s), "
                                          f"the bundle has {len(group)} line(s) for it")  # fmt: skip
        else:
            for event in unit.events:
                self.backing.payloads[(event.originator_id, event.originator_version)] = first.payload
            self.backing.aggregates.update(unit.touched)
            self.backing.idems.add(result.idem)
            self.result.rules_checked += 1

    def _stop_rules(self, leaf: int, message: str) -> None:
        self.rules_stopped = True
        self.problem("rules", leaf, message + "; commands after it were not decided again")


def figures_of(db: Database) -> dict[str, Figure]:
    """Every published figure of the flows read model in ``db``, as the site computes them."""
    rows = db.query(  # money donations, net of corrections, as the site's books read them
        "SELECT receipt_no, SUM(amount) FROM gk_flows WHERE kind = 'donation' AND quantity = 0 "
        "AND fund IS NOT NULL AND receipt_no IS NOT NULL GROUP BY receipt_no ORDER BY receipt_no"
    )
    donations = {str(r[0]): int(r[1]) for r in rows}
    return Figures(flow_report(db, Scope()), goods_totals(db, Scope()), donations).table


def replay(bundle: Path, checkpoint_sizes: set[int]) -> Replayed:
    """Replay ``bundle/events.jsonl`` (see the module docstring)."""
    return Replayer(bundle, checkpoint_sizes).run(bundle / "events.jsonl")

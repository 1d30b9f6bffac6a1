"""The auditor's verifier: stream the whole log and check everything again.

For every stored event, in the global order, it
  * decodes the stored record (a tampered row that no longer decodes is named),
  * recomputes the Merkle leaf over the exact stored signed bytes, signature and key id, and
    folds it into the root (keeping only the tree's right edge in memory),
  * groups the events of one signed command and decides that command again with the write
    side's own rules (``ledger.decide.Unit``) against aggregates rebuilt in memory from the log
    so far: the signature, the signer's role and department and non-revocation *as the key
    registry stood at that point*, every invariant (no negative balance, directed money on its
    purpose, goods conserved, corrections once) — and checks that the command yields exactly
    the stored events (aggregates, versions, event types). Sealed parts (personal data) are in
    the log as digests only, so what only their plaintext shows was checked when submitted;
    that a digest is present where the privacy policy requires one is checked again, and that
    the sealed store still holds a ciphertext under every digest a command names (an erasure
    destroys the subject's key, never the ciphertext; an erasure's own part is not stored):
    looked up a thousand at a time,
  * compares the root at every checkpoint's size with the checkpoint, whose signature by the
    log key is checked too.
It stops at the first failure and names it: position, leaf index, aggregate, event, reason.
Memory is bounded by the number of aggregates (funds, programs, stores, one small record per
donation), never by the number of events.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.application import Ledger
from ledger.checkpoint import CheckpointError, SignedNote, verify_log_signature
from ledger.commands import SignedCommand, payload_of, read_payload
from ledger.decide import CommandResult, Unit
from ledger.errors import LedgerError
from ledger.keys import PublicKey
from ledger.merkle import CompactRange, event_leaf
from ledger.privacy import erases

PAGE = 2000
SEALED_BATCH = 1000  # sealed parts' digests looked up in the sealed store at once


@dataclass(frozen=True, slots=True)
class Failure:
    position: int
    leaf_index: int
    aggregate_id: str
    version: int | None
    event_type: str
    reason: str

    def describe(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        return (
            f"event at position {self.position} (leaf {self.leaf_index}), aggregate "
            f"{self.aggregate_id}{version}, {self.event_type}: {self.reason}"
        )


@dataclass
class Report:
    events: int = 0
    commands: int = 0
    size: int = 0
    root: str = ""
    checkpoints: list[int] = field(default_factory=list)
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


class _MemoryBacking:
    """Aggregates rebuilt from the log so far; originals of corrections read from the store."""

    def __init__(self, app: Ledger) -> None:
        self.app = app
        self.aggregates: dict[UUID, Aggregate] = {}
        self.idems: set[int] = set()
        self.last_idem: tuple[str | None, int] = (None, 0)  # the key last looked up, its digest

    def digest(self, idem: str) -> int:
        """``_digest(idem)``: a command's key is looked up, then recorded once decided."""
        if self.last_idem[0] != idem:
            self.last_idem = (idem, _digest(idem))
        return self.last_idem[1]

    def load(self, aggregate_id: UUID) -> Aggregate | None:
        return self.aggregates.get(aggregate_id)

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.aggregates

    def stored_payload(self, aggregate_id: UUID, version: int) -> dict[str, Any]:
        return payload_of(self.app.stored_event(aggregate_id, version).signed)  # type: ignore[attr-defined]

    def find_command(self, idem: str) -> str | None:
        # A first result with no digest: the command is answered as a replay, which ``_decide``
        # names (the log keeps digests of keys only, not the first results).
        if self.digest(idem) not in self.idems:
            return None
        return CommandResult(cmd="", key_id="", idem=idem, targets=[], versions=[]).to_json()


def _digest(text: str) -> int:
    """64 bits of the key's SHA-256, as a small int (a million keys: ~60 MB less than bytes
    objects; a collision, odds ~10⁻⁸ at that size, can only make a valid log fail, never the
    reverse)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class _Stop(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure


def verify(
    app: Ledger,
    *,
    log_name: str | None = None,
    log_key: PublicKey | None = None,
    checkpoints: list[SignedNote] = (),  # type: ignore[assignment]
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify the whole log of ``app``; the report's ``failure`` names the first problem."""
    report = Report()
    wanted: dict[int, list[SignedNote]] = {}
    for note in checkpoints:
        try:
            checkpoint = (
                verify_log_signature(note, log_name, log_key)
                if log_name is not None and log_key is not None
                else note.checkpoint
            )
        except CheckpointError as error:
            report.failure = Failure(0, -1, "-", None, "checkpoint", error.message)
            return report
        wanted.setdefault(checkpoint.size, []).append(note)
    backing = _MemoryBacking(app)
    sealed: list[_Sealed] = []  # digests not yet looked up in the sealed store
    tree = CompactRange()
    group: list[tuple[int, Any]] = []
    envelope = SignedCommand(b"", b"", "")  # the group's first event's, as stored

    def check_size() -> None:
        for note in wanted.get(tree.size, ()):
            if note.checkpoint.root != tree.root():
                raise _Stop(Failure(group[-1][0] if group else 0, tree.size - 1, "-", None,
                                    "checkpoint",
                                    f"the log's root at size {tree.size} differs from the signed "
                                    "checkpoint: history was rewritten"))  # fmt: skip
            report.checkpoints.append(tree.size)

    try:
        check_size()
        for position, event in _stream(app, report):
            if group and event_key(event) != event_key(group[0][1]):
                _decide(backing, envelope, group, tree.size - len(group), report, sealed)
                if len(sealed) >= SEALED_BATCH:
                    _check_sealed(app, sealed)
                group = []
            try:
                # ``stored_leaf``, keeping the bytes: the first event's are the command's.
                signed, sig = event.signed.encode("utf-8"), base64.b64decode(event.sig)
                tree.append(event_leaf(signed, sig, event.key_id))
            except (AttributeError, ValueError) as error:
                raise _Stop(_failure(position, tree.size, event, f"not a signed event: {error}")) from None
            if not group:
                envelope = SignedCommand(signed, sig, event.key_id)
            group.append((position, event))
            report.events += 1
            if progress is not None:
                progress(1)
            check_size()
        if group:
            _decide(backing, envelope, group, tree.size - len(group), report, sealed)
        _check_sealed(app, sealed)
    except _Stop as stop:
        # A sealed part found missing before the failure's position is the first failure.
        earlier = [entry for entry in sealed if entry[1] < stop.failure.position]
        try:
            _check_sealed(app, earlier)
            report.failure = stop.failure
        except _Stop as first:
            report.failure = first.failure
    report.size = tree.size
    report.root = tree.root().hex()
    missing = sorted(set(wanted) - set(report.checkpoints))
    if report.failure is None and missing:
        report.failure = Failure(0, -1, "-", None, "checkpoint",
                                 f"checkpoint of size {missing[0]} is larger than the log "
                                 f"({tree.size} events): events were deleted")  # fmt: skip
    return report


def event_key(event: Any) -> tuple[str, str]:
    return (event.signed, event.sig)


def _stream(app: Ledger, report: Report) -> Iterator[tuple[int, Any]]:
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=PAGE)
        for n in notifications:
            try:
                event = app.mapper.to_domain_event(n)
            except Exception as error:
                raise _Stop(Failure(n.id, report.events, str(n.originator_id), n.originator_version,
                                    n.topic.rsplit(".", 1)[-1],
                                    f"stored record does not decode: {error}")) from None  # fmt: skip
            yield n.id, event
        if len(notifications) < PAGE:
            return
        start = notifications[-1].id + 1


# A sealed part's digest to look up, with where its command is: (digest, position, leaf, event).
_Sealed = tuple[str, int, int, Any]


def _check_sealed(app: Ledger, sealed: list[_Sealed]) -> None:
    """Look the digests up in the sealed store; stop at the first, in log order, with no
    ciphertext stored."""
    if not sealed:
        return
    found = app.sealed_store.find_sealed(list(dict.fromkeys(digest for digest, *_ in sealed)))
    for digest, position, leaf, event in sealed:
        if digest not in found:
            raise _Stop(_failure(position, leaf, event,
                                 f"the command names the sealed part {digest}, whose ciphertext is "
                                 "not in the sealed store: personal data was deleted"))  # fmt: skip
    sealed.clear()


def _failure(position: int, index: int, event: Any, reason: str) -> Failure:
    return Failure(position, index, str(event.originator_id), event.originator_version,
                   type(event).__qualname__, reason)  # fmt: skip


def _decide(
    backing: _MemoryBacking,
    envelope: SignedCommand,
    group: list[tuple[int, Any]],
    first_leaf: int,
    report: Report,
    sealed: list[_Sealed],
) -> None:
    """Decide the group's command again and compare its events with the stored ones; add the
    sealed part it names, whose ciphertext the store must hold, to ``sealed``."""
    position, first = group[0]
    unit = Unit(backing, replay=True)  # sealed parts are digests here: checked at submit
    try:
        result = unit.decide(envelope)
    except LedgerError as error:
        raise _Stop(_failure(position, first_leaf, first, f"{error.code}: {error.message}")) from None
    if result.duplicate:
        raise _Stop(_failure(position, first_leaf, first,
                             f"idempotency key {result.idem} was recorded twice (a replayed command)"))
    expected = unit.events
    for offset, (pos, stored) in enumerate(group):
        if offset >= len(expected):
            raise _Stop(_failure(pos, first_leaf + offset, stored,
                                 "an extra event repeats a command that yields fewer events"))
        want = expected[offset]
        if (want.originator_id, want.originator_version, type(want).__qualname__) != (
            stored.originator_id, stored.originator_version, type(stored).__qualname__
        ):
            raise _Stop(_failure(pos, first_leaf + offset, stored,
                                 f"the signed command yields {type(want).__qualname__} "
                                 f"v{want.originator_version} of {want.originator_id}, "
                                 "not this event: events were removed, reordered or forged"))
    if len(expected) > len(group):
        want = expected[len(group)]
        raise _Stop(_failure(group[-1][0], first_leaf + len(group) - 1, group[-1][1],
                             f"the command's event {type(want).__qualname__} on {want.originator_id} "
                             "is missing from the log"))
    backing.aggregates.update(unit.touched)
    backing.idems.add(backing.digest(result.idem))
    report.commands += 1
    # JCS writes a command without a sealed part as ``"sealed":null``: most are told by that.
    if '"sealed":null' not in first.signed and not erases(result.cmd):
        digest = read_payload(first.signed).get("sealed")
        if isinstance(digest, str):
            sealed.append((digest, position, first_leaf, first))

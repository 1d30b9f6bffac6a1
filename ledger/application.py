"""The ledger's application service: one method, ``submit``, for every signed command.

A use case is: parse the signed payload, check the signer against the key registry (enrolled,
unrevoked, right role and department), check the body and every invariant, then save the
events of every aggregate it touches in one atomic write together with its idempotency key.
Guards raise a named ``LedgerError`` before anything is triggered, so a refused command
records nothing. A command whose idempotency key was seen before records nothing new and
returns the first result, also after a restart (the key is stored in the same transaction).

Personal data (a command's sealed part) is encrypted with its subject's key and stored in the
same transaction as the events, apart from them; the subject's key is made first, in a
transaction of its own. An erasure destroys the key in the transaction of its event.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any, ClassVar, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    Cache,
    LRUCache,
    ProcessingEvent,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording, Transcoder

from ledger import ids
from ledger.accounts import Account, Fund, Program, Store
from ledger.commands import SignedCommand, payload_of
from ledger.decide import CommandResult, Unit
from ledger.errors import (
    BatchRejected,
    LedgerError,
    NotFound,
    RecipientError,
)
from ledger.recipients import payees_named
from ledger.registry import Registry
from ledger.sealing import Opened, SealedPart, SealedStore, SubjectKeys, seal, unseal
from ledger.transcoder import LedgerTranscoder

MAX_ATTEMPTS = 5
LARGE_BATCH = 1_000  # commands from which a batch is decided with the collector paused


class ConcurrencyConflict(LedgerError):
    code = "conflict"


@runtime_checkable
class CommandJournal(Protocol):
    """What the recorder must offer: the first result stored under an idempotency key (one
    key, or many at once), and which of many aggregates exist at all.

    ``look_up`` reads what a unit of work needs before deciding, at once: the log's head (the
    last notification id, 0 if none), the first results stored under the keys, and which of
    the aggregates have events. ``save(..., commands=[(key, result_json), ...])`` stores the
    keys in the events' transaction.
    """

    def find_command(self, key: str) -> str | None: ...
    def find_commands(self, keys: Sequence[str]) -> dict[str, str]: ...
    def find_existing(self, aggregate_ids: Sequence[UUID]) -> set[UUID]: ...
    def look_up(
        self, keys: Sequence[str], aggregate_ids: Sequence[UUID]
    ) -> tuple[int, dict[str, str], set[UUID]]: ...


class Ledger(Application[UUID]):
    """One jurisdiction's ledger (one log). Construct with an ``env`` from the composition root."""

    name = "gongkai"
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "2000",
        # No read per cached aggregate to fast-forward it: ``_fresh_cache`` empties the cache
        # instead whenever the log grew by anything this ledger did not write itself.
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "COMPRESSOR_TOPIC": "",
    }
    snapshotting_intervals: ClassVar[dict[Any, int]] = {
        Fund: 200,
        Program: 200,
        Store: 200,
        Registry: 100,
    }

    # The log's last position when this ledger last knew its cache to be current (its own
    # save, or a cache emptied at that position); None: not known.
    _cached_at: int | None = None
    # Aggregates found not to exist while the cache was current (a payee never registered is
    # looked up by every payment to it); emptied with the cache.
    _absent: set[UUID]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._absent = set()

    def construct_transcoder(self) -> Transcoder:
        """eventsourcing's JSON transcoder with its transcodings, decoding with orjson
        (``ledger.transcoder``): the same values, read faster."""
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def _fresh_cache(self, head: int) -> None:
        """Empty the aggregate cache unless the log is where this ledger left it (``head``, read
        at the start of a unit of work, with its other reads: ``CommandJournal.look_up``).

        Another process (the CLI beside the server, a second server) may have written since:
        then any cached aggregate may be stale, and all are dropped. One cheap read per unit of
        work instead of one per aggregate loaded.
        """
        if head != self._cached_at:
            _empty(self.repository.cache)
            self._absent = set()
        self._cached_at = head

    def _saved(self, head_before: int, recordings: Sequence[Any]) -> None:
        """After a save: the cache is current only if nobody wrote between the unit's first read
        and the save (the saved records follow the position it started from)."""
        self._absent.difference_update(r.domain_event.originator_id for r in recordings)
        ids = [r.notification.id for r in recordings]
        if ids and min(ids) == head_before + 1:
            self._cached_at = max(ids)
        else:
            self._cached_at = None

    # The recorder's capabilities, checked once: a runtime protocol check costs more than
    # some commands' own rules.
    @cached_property
    def journal(self) -> CommandJournal:
        recorder = self.recorder
        if not isinstance(recorder, CommandJournal):
            raise TypeError("the ledger needs a recorder with an idempotency journal")
        return recorder

    @cached_property
    def subject_keys(self) -> SubjectKeys:
        recorder = self.recorder
        if not isinstance(recorder, SubjectKeys):
            raise TypeError("the ledger needs a recorder that keeps subject keys")
        return recorder

    @cached_property
    def sealed_store(self) -> SealedStore:
        recorder = self.recorder
        if not isinstance(recorder, SealedStore):
            raise TypeError("the ledger needs a recorder that stores sealed parts")
        return recorder

    def open_sealed(self, digests: Sequence[str]) -> dict[str, Opened]:
        """Stored sealed parts, decrypted; an erased subject's come back without their part.

        Digests with nothing stored are left out. Only authorised paths call this (the
        auditor's list, and the village board's masked names).
        """
        stored = self.sealed_store.find_sealed(list(dict.fromkeys(digests)))
        keys = self.subject_keys.subject_keys(sorted({s for s, _, _ in stored.values()}), create=False)
        opened: dict[str, Opened] = {}
        for digest, (subject, nonce, ciphertext) in stored.items():
            key = keys.get(subject)
            part = unseal(key, digest, nonce, ciphertext) if key is not None else None
            opened[digest] = Opened(digest, subject, part)
        return opened

    # --- queries on aggregates (the write side's own needs) ------------------------------

    def registry(self) -> Registry:
        return Unit(_StoreBacking(self)).registry()

    def is_initialised(self) -> bool:
        return Unit(_StoreBacking(self)).exists(ids.REGISTRY_ID)

    def account(self, kind: type[Account], code: str) -> Account:
        return Unit(_StoreBacking(self)).account(kind, code)

    def stored_event(self, aggregate_id: UUID, version: int) -> Aggregate.Event:
        for found in self.events.get(aggregate_id, gt=version - 1, lte=version):
            assert isinstance(found, Aggregate.Event)
            return found
        raise NotFound(f"no event v{version} of aggregate {aggregate_id}")

    def history(self, aggregate_id: UUID) -> Iterator[Aggregate.Event]:
        for found in self.events.get(aggregate_id):
            assert isinstance(found, Aggregate.Event)
            yield found

    # --- the command entry points ---------------------------------------------------------

    def submit(self, envelope: SignedCommand) -> CommandResult:
        """Record one signed command, or raise the ``LedgerError`` that refused it."""
        try:
            return self.submit_batch([envelope])[0]
        except BatchRejected as rejected:
            raise rejected.problems[0][1] from None

    def submit_batch(self, envelopes: Sequence[SignedCommand]) -> list[CommandResult]:
        """Record every command in one transaction, or none of them.

        Each command is checked against the state left by the ones before it. If any is
        refused, ``BatchRejected`` lists every refused command (index and error) and nothing
        is recorded. Commands whose idempotency key was seen return their first result.
        """
        if len(envelopes) < LARGE_BATCH:
            return self._submit_batch(envelopes)
        with collector_paused():
            return self._submit_batch(envelopes)

    def _submit_batch(self, envelopes: Sequence[SignedCommand]) -> list[CommandResult]:
        for attempt in range(MAX_ATTEMPTS):
            backing = _StoreBacking(self, envelopes)
            unit = Unit(backing)
            results: list[CommandResult] = []
            problems: list[tuple[int, LedgerError]] = []
            for index, envelope in enumerate(envelopes):
                try:
                    results.append(unit.decide(envelope))
                except LedgerError as error:
                    problems.append((index, error))
            if problems:
                raise BatchRejected(problems)
            if not unit.events:
                return results
            sealed = self._seal(unit.sealed_parts)
            try:
                recordings = self._save_unit(unit, commands=unit.journal_entries, sealed=sealed,
                                             erased=unit.erased_subjects)  # fmt: skip
            except IntegrityError:
                self._cached_at = None
                if attempt == MAX_ATTEMPTS - 1:
                    raise ConcurrencyConflict(
                        "the records changed while these commands were checked; try again"
                    ) from None
                continue  # Someone else wrote first: load again and re-check every guard.
            except BaseException:
                self._cached_at = None
                raise
            self._saved(backing.head, recordings)
            return results
        raise AssertionError("unreachable")  # pragma: no cover

    def _save_unit(self, unit: Unit, **kwargs: Any) -> list[Recording[UUID]]:
        """``Application.save`` for a decided unit, whose events the unit has already collected
        in order: the library's ``collect_events`` would test each object against two runtime
        protocols (about 25 µs a test, twice per command). The rest is ``save`` as it is in
        eventsourcing 9.5 (pinned): record, snapshot (``_snapshot``), notify (its deprecated
        ``notify`` hook does nothing and is not called)."""
        processing = ProcessingEvent[UUID]()
        processing.events.extend(unit.events)
        processing.aggregates.update((a.id, a) for a in unit.touched.values())
        processing.saved_kwargs.update(kwargs)
        recordings = self._record(processing)
        self._snapshot(unit)
        self._notify(recordings)
        return recordings

    def _snapshot(self, unit: Unit) -> None:
        """Snapshot each aggregate whose events in this unit reached a multiple of its
        snapshotting interval, once, as the unit left it.

        The library's ``_take_snapshots`` reads each such aggregate back from the database at
        that version and replays it (two queries and up to an interval of events each), once
        per multiple: a 100,000-row import into one program took 500 of them. The unit holds
        the aggregate as recorded, the very object the aggregate cache now serves to the next
        command, so its snapshot is taken from it, at its version after the unit."""
        if self.snapshots is None:
            return
        due: dict[UUID, Aggregate] = {}
        intervals = self.snapshotting_intervals
        for event in unit.events:
            aggregate = unit.touched.get(event.originator_id)
            interval = intervals.get(type(aggregate)) if aggregate is not None else None
            if aggregate is not None and interval and event.originator_version % interval == 0:
                due[aggregate.id] = aggregate
        if due:
            self.snapshots.put([type(a).Snapshot.take(a) for a in due.values()])

    def _seal(self, parts: list[SealedPart]) -> list[tuple[str, str, bytes, bytes]]:
        """Encrypt each sealed part with its subject's key, making missing keys first."""
        if not parts:
            return []
        keys = self.subject_keys.subject_keys(sorted({p.subject for p in parts}), create=True)
        rows = []
        for part in parts:
            key = keys.get(part.subject)
            if key is None:
                raise RecipientError("personal data of an erased person cannot be recorded again")
            nonce, ciphertext = seal(key, part)
            rows.append((part.digest, part.subject, nonce, ciphertext))
        return rows


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a large batch (an import), on again after.

    A batch keeps every command, event and result alive until it is saved: about a million
    objects for 100,000 rows, which each full collection walks again (15 of them, 3.4 s of a
    50,000-row import, more than linearly for larger ones). Reference counting still frees
    what it can; cycles wait for the end of the batch. If the collector was off already (or
    another thread turned it off first), it is left as it was.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _empty(cache: Cache[Any, Any] | None) -> None:
    """Forget every cached aggregate. (``LRUCache.clear`` only resets its recency list: in
    eventsourcing 9.5 it is the constructor's helper, and leaves the entries in place.)"""
    if cache is None:
        return
    if isinstance(cache, LRUCache):
        with cache.lock:
            cache.cache.clear()
            cache.clear()
            cache.full = False
    else:
        cache.cache.clear()


class _StoreBacking:
    """The event store behind a unit of work."""

    def __init__(self, app: Ledger, envelopes: Sequence[SignedCommand] = ()) -> None:
        self.app = app
        # Looked up for all the unit's commands at once: idempotency keys (key -> first
        # result, or None) and the aggregates they name that have no events at all.
        self.known: dict[str, str | None] = {}
        self.absent: set[UUID] = set()
        self.head = self._look_up(envelopes)
        app._fresh_cache(self.head)

    def _look_up(self, envelopes: Sequence[SignedCommand]) -> int:
        """One read for the unit instead of a few per command (on PostgreSQL one round trip):
        the log's head, which of its idempotency keys were used, and which of the aggregates
        it names (targets, payees) do not exist yet. Returns the head."""
        keys: list[str] = []
        named: set[UUID] = set()
        for envelope in envelopes:
            try:
                payload = json.loads(envelope.signed)
                if not isinstance(payload, dict):
                    continue
                named.update(UUID(str(t)) for t in payload.get("targets") or [])
            except (ValueError, TypeError, AttributeError):
                continue  # refused with its reason when it is decided
            named.update(payees_named(payload))
            if isinstance(payload.get("idem"), str):
                keys.append(payload["idem"])
        head, found, existing = self.app.journal.look_up(keys, sorted(named))
        self.known = {key: found.get(key) for key in keys}
        self.absent = named - existing
        return head

    def load(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id in self.absent or aggregate_id in self.app._absent:
            return None
        try:
            found: Any = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            self.app._absent.add(aggregate_id)
            return None
        assert isinstance(found, Aggregate)
        return found

    def exists(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.absent or aggregate_id in self.app._absent:
            return False
        return bool(list(self.app.events.get(aggregate_id, limit=1)))

    def stored_payload(self, aggregate_id: UUID, version: int) -> dict[str, Any]:
        return payload_of(self.app.stored_event(aggregate_id, version).signed)  # type: ignore[attr-defined]

    def find_command(self, idem: str) -> str | None:
        if idem in self.known:
            return self.known[idem]
        return self.app.journal.find_command(idem)


__all__ = ["CommandJournal", "CommandResult", "ConcurrencyConflict", "Ledger", "collector_paused"]

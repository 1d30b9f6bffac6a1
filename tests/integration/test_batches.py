"""Batches: several signed commands recorded in one transaction, all of them or none."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Sequence
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger.accounts import Fund
from ledger.application import Ledger, collector_paused
from ledger.commands import SignedCommand
from ledger.errors import BatchRejected, InsufficientBalance, NotFound, RecipientError
from tests.builders import Town, allocation, money_donation
from tests.people import payment, registration


def test_a_later_command_of_a_batch_sees_the_earlier_ones(town: Town) -> None:
    before = town.position()
    town.app.submit_batch([
        town.recorder.sign("donation.receive", money_donation(100_000)),
        town.recorder.sign("allocation.make", allocation(60_000)),
    ])  # fmt: skip
    assert (town.fund().total, town.program().total) == (40_000, 60_000)
    assert town.recorded_since(before) == 4


def test_a_batch_with_a_refused_command_records_none_of_them(town: Town) -> None:
    before = town.position()
    with pytest.raises(BatchRejected) as caught:
        town.app.submit_batch([
            town.recorder.sign("donation.receive", money_donation(100_000)),
            town.recorder.sign("allocation.make", allocation(60_000, program="P-NOPE")),
            town.recorder.sign("allocation.make", allocation(160_000)),
        ])  # fmt: skip
    assert [(index, type(error)) for index, error in caught.value.problems] == [
        (1, NotFound), (2, InsufficientBalance)
    ]  # fmt: skip
    assert town.recorded_since(before) == 0
    assert town.fund().total == 0


# --- what a batch looks up at once (its idempotency keys, the aggregates it names) ---------------


def test_a_payment_in_a_batch_sees_a_registration_earlier_in_the_same_batch(town: Town) -> None:
    # The batch looks its payees up before deciding: the recipient is unknown then, and must
    # still be known as registered (in 流长村) by the time the payment is decided.
    town.submit(town.recorder, "donation.receive", money_donation(100_000, fund="F-DIBAO"))
    town.submit(town.recorder, "allocation.make", allocation(60_000, fund="F-DIBAO", program="P-DIBAO"))
    with pytest.raises(BatchRejected) as caught:
        town.app.submit_batch([
            registration(town.recorder, "R-7K2Q9D", village="流长村"),
            payment(town.recorder, 10_000, "R-7K2Q9D", village="马场村"),
        ])  # fmt: skip
    assert [(index, type(error)) for index, error in caught.value.problems] == [(1, RecipientError)]


def test_a_batch_of_payees_registered_before_checks_each_of_them(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000, fund="F-DIBAO"))
    town.submit(town.recorder, "allocation.make", allocation(60_000, fund="F-DIBAO", program="P-DIBAO"))
    town.app.submit(registration(town.recorder, "R-4M8WT3", village="马场村"))
    with pytest.raises(BatchRejected) as caught:
        town.app.submit_batch([
            payment(town.recorder, 10_000, "R-NEW001", village="流长村"),  # never registered: paid
            payment(town.recorder, 10_000, "R-4M8WT3", village="流长村"),  # registered elsewhere
        ])  # fmt: skip
    assert [(index, type(error)) for index, error in caught.value.problems] == [(1, RecipientError)]


def test_a_batch_answers_keys_used_before_and_keys_repeated_within_it(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000), idem="gift-0001")
    again = town.recorder.sign("donation.receive", money_donation(100_000), idem="gift-0001")
    fresh = town.recorder.sign("allocation.make", allocation(60_000), idem="alloc-0001")
    before = town.position()
    results = town.app.submit_batch([again, fresh, fresh])
    assert [r.duplicate for r in results] == [True, False, True]
    assert town.recorded_since(before) == 2  # the allocation's two events, once


def test_a_write_of_many_megabytes_is_stored_and_does_not_hang(ledger: Ledger) -> None:
    # psycopg's pipeline mode hung for ever on one statement of more than about 5.5 MB (10,000
    # disbursements in one batch on PostgreSQL); such writes now go unpipelined.
    aggregate = uuid4()
    records = [StoredEvent(aggregate, version, "tests:Big", b"x" * 600) for version in range(1, 10_001)]
    journal = [(f"big-{version}", "{}") for version in range(1, 10_001)]
    done: list[Sequence[int] | None] = []
    writer = threading.Thread(target=lambda: done.append(ledger.recorder.insert_events(records, commands=journal)),
                              daemon=True)  # fmt: skip
    writer.start()
    writer.join(timeout=120)
    assert done, "the write did not return within two minutes"
    assert len(ledger.recorder.select_notifications(start=1, limit=20_000)) == 10_000
    assert ledger.journal.find_commands(["big-1", "big-10000", "big-10001"]) == {"big-1": "{}", "big-10000": "{}"}


def test_a_unit_reads_the_head_its_keys_and_which_aggregates_exist_at_once(ledger: Ledger) -> None:
    # What a unit of work reads before deciding (one statement on PostgreSQL).
    aggregate, missing = uuid4(), uuid4()
    assert ledger.journal.look_up(["k-1"], [aggregate, missing]) == (0, {}, set())
    records = [StoredEvent(aggregate, version, "tests:Small", b"x") for version in (1, 2, 3)]
    ids = ledger.recorder.insert_events(records, commands=[("k-1", '{"first": 1}')])
    assert ids is not None and len(ids) == 3
    head, known, existing = ledger.journal.look_up(["k-1", "k-2"], [aggregate, missing])
    assert (head, known, existing) == (max(ids), {"k-1": '{"first": 1}'}, {aggregate})
    assert ledger.journal.look_up([], []) == (max(ids), {}, set())


@pytest.mark.parametrize("sealed", [False, True], ids=["one-statement", "pipelined"])
def test_a_write_refused_by_a_taken_key_records_nothing_and_the_next_one_goes_through(
    ledger: Ledger, sealed: bool
) -> None:
    # On PostgreSQL a write is one statement, or (with sealed parts) one pipelined
    # transaction with a single sync: a taken idempotency key must still refuse all of it,
    # and leave the connection ready for the next write.
    first, second = uuid4(), uuid4()
    part = [("d" * 64, "subject-1", b"nonce", b"ciphertext")] if sealed else []
    ledger.recorder.insert_events([StoredEvent(first, 1, "tests:Small", b"x")], commands=[("k-1", "{}")])
    with pytest.raises(IntegrityError):
        ledger.recorder.insert_events([StoredEvent(second, 1, "tests:Small", b"y")],
                                      commands=[("k-1", "{}")], sealed=part)  # fmt: skip
    assert ledger.sealed_store.find_sealed(["d" * 64]) == {}
    assert ledger.journal.find_existing([first, second]) == {first}
    for _ in range(10):  # every pooled connection is clean again
        ledger.recorder.insert_events([StoredEvent(uuid4(), 1, "tests:Small", b"z")])
    ids = ledger.recorder.insert_events([StoredEvent(second, 1, "tests:Small", b"y")], commands=[("k-2", "{}")])
    assert ids is not None and len(ids) == 1
    assert ledger.journal.find_commands(["k-1", "k-2"]) == {"k-1": "{}", "k-2": "{}"}


def test_an_aggregate_is_snapshotted_once_per_unit_as_recorded(
    town: Town, reopen: Callable[..., Ledger]
) -> None:
    # A batch that takes the fund past two multiples of its snapshotting interval (200) stores
    # one snapshot, at the fund's version after the batch; a single command reaching the next
    # multiple stores another. A ledger without the cache loads the fund from them, as it is.
    def donations(first: int, count: int) -> list[SignedCommand]:
        return [town.recorder.sign("donation.receive", money_donation(100, receipt_no=f"R2026-S{n:04d}"))
                for n in range(first, first + count)]  # fmt: skip

    start = town.fund().version
    town.app.submit_batch(donations(0, 400 - start + 5))
    snapshots = town.app.snapshots
    assert snapshots is not None
    fund = town.fund()
    assert fund.version == 405
    assert [s.originator_version for s in snapshots.get(fund.id)] == [405]
    for command in donations(1_000, 195):
        town.app.submit(command)
    assert [s.originator_version for s in snapshots.get(fund.id)] == [405, 600]
    again = reopen()
    loaded = again.account(Fund, "F-DISASTER")
    assert (loaded.version, loaded.total) == (600, town.fund().total)
    assert vars(loaded) == vars(town.fund())


def test_the_collector_is_paused_for_a_large_batch_and_left_as_it_was() -> None:
    def refused() -> None:
        with collector_paused():
            assert not gc.isenabled()
            raise RuntimeError("a refused batch")

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        refused()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # whoever turned it off turns it on
    finally:
        gc.enable()

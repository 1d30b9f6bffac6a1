"""Batches: several signed commands recorded in one transaction, all of them or none."""

from __future__ import annotations

import pytest

from ledger.errors import BatchRejected, InsufficientBalance, NotFound
from tests.builders import Town, allocation, money_donation


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

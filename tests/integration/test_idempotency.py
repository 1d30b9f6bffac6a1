"""Idempotency: a repeated key returns the first result and records nothing, across restarts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.application import Ledger
from ledger.commands import Signer
from ledger.errors import InsufficientBalance
from tests.builders import JURISDICTION, Town, allocation, genesis, key, money_donation, recorded


def test_a_repeated_command_returns_the_first_result_and_records_nothing(town: Town) -> None:
    envelope = town.recorder.sign("donation.receive", money_donation(100_000), idem="pos-0001")
    first = town.app.submit(envelope)
    before = town.recorded()
    again = town.app.submit(envelope)
    assert again.duplicate is True
    assert (again.targets, again.versions, again.idem) == (first.targets, first.versions, "pos-0001")
    assert town.recorded() == before
    assert town.fund().total == 100_000


def test_a_new_signature_under_a_used_key_records_nothing(town: Town) -> None:
    first = town.submit(town.recorder, "donation.receive", money_donation(100_000), idem="pos-0001")
    before = town.recorded()
    again = town.submit(town.recorder, "donation.receive", money_donation(100_000), idem="pos-0001")
    assert again.duplicate is True
    assert again.versions == first.versions
    assert town.recorded() == before


def test_a_repeated_command_is_recognised_after_a_restart(
    town: Town, reopen: Callable[..., Ledger]
) -> None:
    envelope = town.recorder.sign("donation.receive", money_donation(100_000), idem="pos-0001")
    first = town.app.submit(envelope)
    town.app.close()
    restarted = reopen()
    before = recorded(restarted)
    again = restarted.submit(envelope)
    assert again.duplicate is True
    assert again.versions == first.versions
    assert recorded(restarted) == before


def test_a_repeated_genesis_returns_the_first_result(ledger: Ledger) -> None:
    envelope = Signer(key("admin"), JURISDICTION).sign("registry.found", genesis(key("admin")))
    ledger.submit(envelope)
    again = ledger.submit(envelope)
    assert again.duplicate is True
    assert recorded(ledger) == 1


def test_a_refused_command_leaves_its_key_unused(town: Town) -> None:
    envelope = town.recorder.sign("allocation.make", allocation(60_000), idem="alloc-0001")
    with pytest.raises(InsufficientBalance):
        town.app.submit(envelope)
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    result = town.app.submit(envelope)
    assert result.duplicate is False
    assert town.program().total == 60_000

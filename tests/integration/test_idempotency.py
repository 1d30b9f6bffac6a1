"""Idempotency: a repeated key returns the first result and records nothing, across restarts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.commands import SignedCommand, Signer
from ledger.errors import AlreadyExists, BadSignature, InsufficientBalance
from tests.builders import (
    JURISDICTION,
    Town,
    allocation,
    genesis,
    key,
    money_donation,
    position,
    recorded_since,
    refusal,
)


def test_a_repeated_command_returns_the_first_result_and_records_nothing(town: Town) -> None:
    envelope = town.recorder.sign("donation.receive", money_donation(100_000), idem="pos-0001")
    first = town.app.submit(envelope)
    before = town.position()
    again = town.app.submit(envelope)
    assert again.duplicate is True
    assert (again.targets, again.versions, again.idem) == (first.targets, first.versions, "pos-0001")
    assert town.recorded_since(before) == 0
    assert town.fund().total == 100_000


def test_a_new_signature_under_a_used_key_records_nothing(town: Town) -> None:
    first = town.submit(town.recorder, "donation.receive", money_donation(100_000), idem="pos-0001")
    before = town.position()
    again = town.submit(town.recorder, "donation.receive", money_donation(100_000), idem="pos-0001")
    assert again.duplicate is True
    assert again.versions == first.versions
    assert town.recorded_since(before) == 0


def test_a_repeated_command_is_recognised_after_a_restart(
    town: Town, reopen: Callable[..., Ledger]
) -> None:
    envelope = town.recorder.sign("donation.receive", money_donation(100_000), idem="pos-0001")
    first = town.app.submit(envelope)
    town.app.close()
    restarted = reopen()
    before = position(restarted)
    again = restarted.submit(envelope)
    assert again.duplicate is True
    assert again.versions == first.versions
    assert recorded_since(restarted, before) == 0


def test_a_repeated_genesis_returns_the_first_result(ledger: Ledger) -> None:
    envelope = Signer(key("admin"), JURISDICTION).sign("registry.found", genesis(key("admin")))
    ledger.submit(envelope)
    again = ledger.submit(envelope)
    assert again.duplicate is True
    assert recorded_since(ledger, 0) == 1


def test_a_refused_command_leaves_its_key_unused(town: Town) -> None:
    envelope = town.recorder.sign("allocation.make", allocation(60_000), idem="alloc-0001")
    with pytest.raises(InsufficientBalance):
        town.app.submit(envelope)
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    result = town.app.submit(envelope)
    assert result.duplicate is False
    assert town.program().total == 60_000


def test_a_repeat_that_slips_past_the_journal_check_is_still_recorded_once(
    town: Town, reopen: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two processes take the same command; the second looks its key up just before the
    # first one commits. The journal's unique key must turn its write into a duplicate.
    town.submit(town.recorder, "donation.receive", money_donation(200_000))
    envelope = town.recorder.sign("allocation.make", allocation(60_000), idem="alloc-0001")
    second = reopen()
    lookups: list[Sequence[str]] = []
    look_up = second.journal.look_up

    def too_early_once(
        keys: Sequence[str], aggregate_ids: Sequence[UUID]
    ) -> tuple[int, dict[str, str], set[UUID]]:
        lookups.append(keys)
        head, known, existing = look_up(keys, aggregate_ids)
        return (head, {}, existing) if len(lookups) == 1 else (head, known, existing)

    monkeypatch.setattr(second.recorder, "look_up", too_early_once)
    town.app.submit(envelope)
    before = town.position()
    result = second.submit(envelope)
    assert result.duplicate is True
    assert town.recorded_since(before) == 0
    assert town.program().total == 60_000


def test_a_forged_genesis_under_a_used_key_is_refused_not_answered(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000), idem="pos-0001")
    impostor = Signer(key("impostor"), JURISDICTION)
    envelope = impostor.sign("registry.found", genesis(impostor.key), idem="pos-0001")
    error = refusal(town, SignedCommand(envelope.signed, bytes(64), envelope.key_id))
    assert type(error) in (AlreadyExists, BadSignature)

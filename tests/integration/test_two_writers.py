"""Two ledgers writing to one database (the CLI beside the server, two servers): each keeps
aggregates in a cache without re-reading them per command, so it must notice the other's
writes and never decide on a stale state."""

from __future__ import annotations

from collections.abc import Callable

from ledger.application import Ledger
from ledger.errors import LedgerError
from tests.builders import Town, allocation, money_donation, position, refusal


def test_a_key_revoked_by_another_writer_is_refused_at_once(
    town: Town, reopen: Callable[..., Ledger]
) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))  # cached: registry
    other = reopen()
    other.submit(town.admin.sign("official.revoke", {"key_id": town.recorder.key.key_id,
                                                     "reason": "调离岗位"}))  # fmt: skip
    error = refusal(
        town, town.recorder.sign("donation.receive", money_donation(5_000, receipt_no="R2026-0002"))
    )
    assert "revoked" in str(error).lower() or "撤销" in str(error), error


def test_a_balance_spent_by_another_writer_is_not_spent_again(
    town: Town, reopen: Callable[..., Ledger]
) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "allocation.make", allocation(60_000))  # cached: the fund at 100,000
    other = reopen()
    other.submit(town.recorder.sign("allocation.make", allocation(40_000)))
    assert town.fund().total == 0
    error = refusal(town, town.recorder.sign("allocation.make", allocation(1)))
    assert isinstance(error, LedgerError)


def test_writes_of_its_own_keep_the_cache_and_stay_correct(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    for amount in (10_000, 20_000, 30_000):
        town.submit(town.recorder, "allocation.make", allocation(amount))
    assert town.fund().total == 40_000
    before = position(town.app)
    refusal(town, town.recorder.sign("allocation.make", allocation(40_001)))
    assert position(town.app) == before

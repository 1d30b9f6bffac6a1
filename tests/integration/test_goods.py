"""Goods through the store: conserved from receipt to issue, issued only with an approval."""

from __future__ import annotations

import json

from ledger.errors import (
    DirectedMisuse,
    InsufficientBalance,
    NotFound,
    SeparationOfDuties,
    WrongRole,
)
from tests.builders import (
    Town,
    goods_donation,
    goods_issue,
    goods_line,
    goods_receipt,
    key,
    refusal,
)


def stock(town: Town, item: str = "KN95 口罩", purpose: str = "") -> int:
    bucket = json.dumps([item, "GB 2626", "只", purpose], ensure_ascii=False)
    return town.store().balances.get(bucket, 0)


def test_a_goods_donation_stocks_the_store(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    assert stock(town) == 120


def test_goods_received_from_elsewhere_stock_the_store(town: Town) -> None:
    town.submit(town.recorder, "goods.receive", goods_receipt(goods_line(50), purpose="disaster_relief"))
    assert stock(town, purpose="disaster_relief") == 50


def test_goods_issued_with_a_heads_approval_leave_the_store(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    body = goods_issue(goods_line(20), approved_by=town.head.key.key_id)
    town.submit(town.recorder, "goods.issue", body)
    assert stock(town) == 100


def test_a_leader_in_charge_may_approve_a_goods_issue(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    town.submit(town.recorder, "goods.issue", goods_issue(approved_by=town.leader.key.key_id))
    assert stock(town) == 20


def test_a_goods_issue_approved_by_a_recorder_is_refused(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    body = goods_issue(approved_by=town.other_recorder.key.key_id)
    error = refusal(town, town.recorder.sign("goods.issue", body))
    assert type(error) is WrongRole
    assert "吴经办 is recorder" in error.message


def test_approving_ones_own_goods_issue_is_a_separation_of_duties_breach(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    body = goods_issue(approved_by=town.recorder.key.key_id)
    error = refusal(town, town.recorder.sign("goods.issue", body))
    assert type(error) is SeparationOfDuties
    assert error.field == "approved_by"


def test_a_goods_issue_approved_by_an_unknown_key_is_refused(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    stranger = key("stranger").key_id
    error = refusal(town, town.recorder.sign("goods.issue", goods_issue(approved_by=stranger)))
    assert type(error) is NotFound
    assert stranger in error.message


def test_a_goods_issue_approved_by_a_revoked_head_is_refused(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    town.submit(town.admin, "official.revoke", {"key_id": town.head.key.key_id, "reason": "调离"})
    body = goods_issue(approved_by=town.head.key.key_id)
    error = refusal(town, town.recorder.sign("goods.issue", body))
    assert type(error) is NotFound
    assert town.head.key.key_id in error.message


def test_directed_goods_are_not_issued_for_another_category(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(purpose="disaster_relief"))
    body = goods_issue(approved_by=town.head.key.key_id, category="dibao", purpose="disaster_relief")
    error = refusal(town, town.recorder.sign("goods.issue", body))
    assert type(error) is DirectedMisuse
    assert "城乡低保" in error.message


def test_directed_goods_cannot_be_issued_as_undirected(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(purpose="disaster_relief"))
    body = goods_issue(goods_line(10), approved_by=town.head.key.key_id)
    error = refusal(town, town.recorder.sign("goods.issue", body))
    assert type(error) is InsufficientBalance
    assert "S-MAIN" in error.message


def test_a_store_never_goes_negative(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    body = goods_issue(goods_line(121), approved_by=town.head.key.key_id)
    error = refusal(town, town.recorder.sign("goods.issue", body))
    assert type(error) is InsufficientBalance
    assert "S-MAIN" in error.message
    assert "KN95 口罩" in error.message
    assert stock(town) == 120


def test_goods_are_kept_apart_by_grade(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(120)))
    body = goods_issue(goods_line(1, grade="GB 19083"), approved_by=town.head.key.key_id)
    error = refusal(town, town.recorder.sign("goods.issue", body))
    assert type(error) is InsufficientBalance
    assert "GB 19083" in error.message

"""Corrections (更正): new events that reverse or adjust one earlier event, once, with a note."""

from __future__ import annotations

import json

from ledger import ids
from ledger.errors import (
    CorrectionError,
    InsufficientBalance,
    NotFound,
    WrongDepartment,
)
from tests.builders import (
    JURISDICTION,
    Town,
    allocation,
    correction,
    goods_donation,
    goods_line,
    money_donation,
    refusal,
)

RECEIPT = ids.donation_id(JURISDICTION, "R2026-0001")


def test_a_reversal_takes_the_donation_back_out_of_the_fund(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "correction.record", correction(town.app, RECEIPT, 1))
    assert town.fund().total == 0


def test_a_correction_edits_nothing_it_adds_events(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    original = town.app.stored_event(town.fund().id, 2).signed  # type: ignore[attr-defined]
    before = town.position()
    town.submit(town.recorder, "correction.record", correction(town.app, RECEIPT, 1))
    assert town.recorded_since(before) == 2
    assert town.app.stored_event(town.fund().id, 2).signed == original  # type: ignore[attr-defined]


def test_an_adjustment_replaces_the_goods_of_a_donation(town: Town) -> None:
    # The Hubei case: masks recorded as N95 were KN95, and there were 18000 of them.
    wrong = goods_line(16_000, item="N95", grade="GB 19083", unit="只")
    right = goods_line(18_000, item="KN95", grade="GB 2626", unit="只")
    town.submit(town.recorder, "donation.receive", goods_donation(wrong, receipt_no="R2020-0123"))
    receipt = ids.donation_id(JURISDICTION, "R2020-0123")
    replacement = goods_donation(right, receipt_no="R2020-0123")
    body = correction(town.app, receipt, 1, replacement=replacement, note="物资型号及数量登记错误")
    town.submit(town.recorder, "correction.record", body)
    assert town.store().balances == {json.dumps(["KN95", "GB 2626", "只", ""], ensure_ascii=False): 18_000}


def test_an_allocation_reversed_through_its_fund_event_restores_both_sides(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "allocation.make", allocation(60_000))
    town.submit(town.recorder, "correction.record", correction(town.app, town.fund().id, 3))
    assert (town.fund().total, town.program().total) == (100_000, 0)


def test_an_event_is_corrected_only_once(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "correction.record", correction(town.app, RECEIPT, 1))
    town.submit(town.recorder, "donation.receive", money_donation(100_000, receipt_no="R2026-0002"))
    error = refusal(town, town.recorder.sign("correction.record", correction(town.app, RECEIPT, 1)))
    assert type(error) is CorrectionError
    assert "already corrected" in error.message


def test_an_event_corrected_through_one_aggregate_is_not_corrected_again_through_another(
    town: Town,
) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "allocation.make", allocation(30_000))
    town.submit(town.recorder, "allocation.make", allocation(30_000, date="2026-07-11"))
    town.submit(town.recorder, "correction.record", correction(town.app, town.fund().id, 3))
    again = correction(town.app, town.program().id, 2)
    error = refusal(town, town.recorder.sign("correction.record", again))
    assert type(error) is CorrectionError


def test_a_correction_must_copy_the_original_exactly(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    body = correction(town.app, RECEIPT, 1)
    body["original"]["body"]["amount"] = 10_000
    error = refusal(town, town.recorder.sign("correction.record", body))
    assert type(error) is CorrectionError
    assert "body.original" in error.message


def test_a_reversal_that_would_make_a_fund_negative_is_refused(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "allocation.make", allocation(60_000))
    error = refusal(town, town.recorder.sign("correction.record", correction(town.app, RECEIPT, 1)))
    assert type(error) is InsufficientBalance
    assert "F-DISASTER" in error.message


def test_a_replacement_cannot_move_the_money_to_another_fund(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    replacement = money_donation(100_000, fund="F-DIBAO")
    body = correction(town.app, RECEIPT, 1, replacement=replacement)
    error = refusal(town, town.recorder.sign("correction.record", body))
    assert type(error) is CorrectionError
    assert "replacement" in error.message


def test_a_correction_of_an_event_that_does_not_exist_is_refused(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    body = correction(town.app, RECEIPT, 1)
    body["corrects"]["version"] = 7
    error = refusal(town, town.recorder.sign("correction.record", body))
    assert type(error) is NotFound
    assert "v7" in error.message


def test_a_correction_must_point_at_one_of_the_originals_aggregates(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    body = correction(town.app, RECEIPT, 1)
    body["corrects"]["aggregate"] = str(town.program().id)
    error = refusal(town, town.recorder.sign("correction.record", body))
    assert type(error) is CorrectionError
    assert "body.corrects.aggregate" in error.message


def test_a_recorder_corrects_only_their_departments_books(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    body = correction(town.app, RECEIPT, 1)
    error = refusal(town, town.other_recorder.sign("correction.record", body))
    assert type(error) is WrongDepartment
    assert "F-DISASTER" in error.message


def test_a_donation_reversed_to_move_it_can_be_recorded_anew_under_its_receipt(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "correction.record",
                correction(town.app, RECEIPT, 1, note="记入了错误的资金，冲销后重新登记"))  # fmt: skip
    town.submit(town.recorder, "donation.receive", money_donation(100_000, fund="F-DIBAO"))
    assert (town.fund().total, town.fund("F-DIBAO").total) == (0, 100_000)

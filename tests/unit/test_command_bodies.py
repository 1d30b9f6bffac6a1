"""Each command type's body rules: strict fields, named in every refusal, no personal data in public."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.commands import spec_of
from ledger.errors import MalformedAmount, MalformedCommand
from ledger.fields import Fields
from tests.builders import (
    disbursement,
    goods_donation,
    goods_issue,
    goods_line,
    money_donation,
    transfer,
)


def validate(cmd: str, body: dict[str, Any]) -> None:
    spec_of(cmd).validate(Fields(body))


def test_a_well_formed_donation_is_accepted() -> None:
    validate("donation.receive", money_donation(purpose="disaster_relief"))


def test_an_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(MalformedCommand, match="unknown field.*donor_phone"):
        validate("donation.receive", {**money_donation(), "donor_phone": "x"})


def test_an_unknown_command_type_is_refused() -> None:
    with pytest.raises(MalformedCommand, match="unknown command type 'donation.steal'"):
        spec_of("donation.steal")


@pytest.mark.parametrize("code", ["F DISASTER", "资金", "-F", "", "F/1", "F" * 41])
def test_a_fund_code_must_be_letters_digits_and_dashes(code: str) -> None:
    with pytest.raises(MalformedCommand, match=r"body\.fund"):
        validate("donation.receive", money_donation(fund=code))


def test_an_unknown_category_is_refused_by_name() -> None:
    with pytest.raises(MalformedCommand, match=r"body\.purpose 'flood'"):
        validate("donation.receive", money_donation(purpose="flood"))


@pytest.mark.parametrize("amount", [0, -1, "100", True, None, 1.5, 10**15 + 1])
def test_an_amount_must_be_a_positive_integer_of_fen(amount: object) -> None:
    with pytest.raises(MalformedAmount, match=r"body\.amount"):
        validate("donation.receive", money_donation(amount))


def test_a_donation_is_money_or_goods_not_both() -> None:
    body = {**money_donation(), "store": "S-MAIN", "goods": [goods_line()]}
    with pytest.raises(MalformedCommand, match="either money"):
        validate("donation.receive", body)


def test_a_donation_without_money_or_goods_is_refused() -> None:
    body = money_donation()
    del body["fund"], body["amount"]
    with pytest.raises(MalformedCommand, match="either money"):
        validate("donation.receive", body)


def test_a_donor_may_be_named_in_public_with_consent() -> None:
    validate("donation.receive", {**money_donation(), "donor_name": "某公司", "consent": True})


def test_a_donor_name_without_consent_is_refused() -> None:
    with pytest.raises(MalformedCommand, match="donor_name.*consent"):
        validate("donation.receive", {**money_donation(), "donor_name": "张三"})


def test_a_donor_name_holding_a_phone_number_is_refused() -> None:
    body = {**money_donation(), "donor_name": "张三13800138000", "consent": True}
    with pytest.raises(MalformedCommand, match=r"body\.donor_name.*long numbers"):
        validate("donation.receive", body)


def test_a_public_note_holding_a_phone_number_in_groups_is_refused() -> None:
    with pytest.raises(MalformedCommand, match=r"body\.note"):
        validate("donation.receive", {**money_donation(), "note": "联系电话 138 0013 8000"})


def test_a_pseudonymous_recipient_reference_is_accepted() -> None:
    validate("disbursement.make", disbursement(500, recipient="R-7K2Q9D"))


@pytest.mark.parametrize(
    "recipient",
    [
        "110105194912310021",  # an 18-digit resident ID
        "11010519491231002X",  # an ID with its X check digit
        "R-110105194912310021",
        "13800138000",  # a mobile number
        "R-13800138000",
        "r-7k2q9d",
        "张三",
        "R-1",
    ],
)
def test_a_recipient_reference_that_could_be_personal_data_is_refused(recipient: str) -> None:
    with pytest.raises(MalformedCommand, match=r"body\.recipient.*pseudonymous"):
        validate("disbursement.make", disbursement(500, recipient=recipient))


def test_an_unprotected_disbursement_names_its_village() -> None:
    body = disbursement(500)
    del body["village"]
    with pytest.raises(MalformedCommand, match=r"body\.village"):
        validate("disbursement.make", body)


def test_a_protected_disbursement_publishes_only_amount_and_date() -> None:
    validate("disbursement.make", {"program": "P-FLOOD", "amount": 500, "date": "2026-07-10",
                                   "protected": True})  # fmt: skip


@pytest.mark.parametrize("field", ["village", "recipient"])
def test_a_protected_disbursement_naming_who_or_where_is_refused(field: str) -> None:
    body = {**disbursement(500), "protected": True}
    body.pop("recipient" if field == "village" else "village")
    with pytest.raises(MalformedCommand, match=rf"body\.{field} must be left out"):
        validate("disbursement.make", body)


def test_a_disbursement_period_must_be_a_month() -> None:
    with pytest.raises(MalformedCommand, match=r"body\.period"):
        validate("disbursement.make", {**disbursement(500), "period": "2026-13"})


@pytest.mark.parametrize("day", ["2026-02-30", "10/07/2026", "yesterday"])
def test_a_date_must_be_a_real_calendar_day(day: str) -> None:
    with pytest.raises(MalformedCommand, match=r"body\.date"):
        validate("donation.receive", {**money_donation(), "date": day})


@pytest.mark.parametrize("day", ["20260710", "2026-W28-5"])
def test_a_date_must_be_written_year_month_day(day: str) -> None:
    with pytest.raises(MalformedCommand, match=r"body\.date"):
        validate("donation.receive", {**money_donation(), "date": day})


@pytest.mark.parametrize("quantity", [0, -5, 1.5, "10", True])
def test_a_goods_quantity_must_be_a_whole_number_above_zero(quantity: object) -> None:
    line = {**goods_line(), "quantity": quantity}
    with pytest.raises(MalformedCommand, match=r"body\.goods\[0\]\.quantity"):
        validate("donation.receive", goods_donation(line))


def test_the_same_goods_twice_in_one_command_is_refused() -> None:
    with pytest.raises(MalformedCommand, match="same item"):
        validate("donation.receive", goods_donation(goods_line(10), goods_line(20)))


def test_a_goods_line_with_an_unknown_field_is_refused() -> None:
    line = {**goods_line(), "owner_id": "110105194912310021"}
    with pytest.raises(MalformedCommand, match="owner_id"):
        validate("goods.issue", goods_issue(line, approved_by="a" * 32))


def test_goods_are_issued_to_exactly_one_recipient_or_institution() -> None:
    body = {**goods_issue(approved_by="a" * 32), "recipient": "R-7K2Q9D"}
    with pytest.raises(MalformedCommand, match="exactly one"):
        validate("goods.issue", body)


def test_a_transfer_needs_two_different_funds() -> None:
    with pytest.raises(MalformedCommand, match=r"body\.to_fund"):
        validate("transfer.make", transfer(100, from_fund="F-DIBAO", to_fund="F-DIBAO"))


def test_a_correction_must_say_what_was_wrong() -> None:
    body = {
        "corrects": {"aggregate": "6b1f3c1e-7a0e-5d7e-9f3a-6f6e676b6169", "version": 2},
        "original": {"cmd": "donation.receive", "body": money_donation()},
        "note": "错",
    }
    with pytest.raises(MalformedCommand, match=r"body\.note"):
        validate("correction.record", body)


def test_opening_an_account_cannot_be_corrected() -> None:
    body = {
        "corrects": {"aggregate": "6b1f3c1e-7a0e-5d7e-9f3a-6f6e676b6169", "version": 1},
        "original": {"cmd": "store.open",
                     "body": {"code": "S-1", "name": "仓库", "department": "shehui"}},
        "note": "名称录入错误",
    }  # fmt: skip
    with pytest.raises(MalformedCommand, match="store.open commands cannot be corrected"):
        validate("correction.record", body)


def test_a_disbursement_period_is_written_year_dash_two_digit_month() -> None:
    with pytest.raises(MalformedCommand, match=r"body\.period"):
        validate("disbursement.make", {**disbursement(500), "period": "2026-7"})

"""Money through funds and programs: double entry, never negative, directed money on purpose."""

from __future__ import annotations

import pytest

from ledger.errors import (
    AlreadyExists,
    BatchRejected,
    DirectedMisuse,
    InsufficientBalance,
    MalformedAmount,
    MalformedCommand,
    NotFound,
)
from tests.builders import (
    Town,
    allocation,
    disbursement,
    goods_donation,
    money_donation,
    refusal,
    signed_bytes,
    transfer,
)


def test_a_donation_credits_its_fund_under_its_purpose(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000, purpose="disaster_relief"))
    assert town.fund().balances == {"disaster_relief": 100_000}


def test_a_donation_records_the_receipt_and_the_fund_movement(town: Town) -> None:
    before = town.position()
    result = town.submit(town.recorder, "donation.receive", money_donation())
    assert town.recorded_since(before) == 2
    assert result.versions == [1, 2]
    assert result.duplicate is False


@pytest.mark.parametrize("amount", [0, -1, "100", True, None, 10**15 + 1])
def test_a_malformed_amount_is_refused(town: Town, amount: object) -> None:
    error = refusal(town, town.recorder.sign("donation.receive", money_donation(amount)))
    assert type(error) is MalformedAmount
    assert "body.amount" in error.message


def test_a_float_amount_is_refused(town: Town) -> None:
    signed = town.recorder.sign("donation.receive", money_donation(100_000)).signed
    error = refusal(town, signed_bytes(signed.replace(b"100000", b"1000.5"), town.recorder.key))
    assert type(error) is MalformedCommand
    assert "1000.5" in error.message


def test_an_amount_beyond_the_safe_integer_range_is_refused(town: Town) -> None:
    signed = town.recorder.sign("donation.receive", money_donation(100_000)).signed
    huge = signed.replace(b"100000", str(2**64).encode())
    error = refusal(town, signed_bytes(huge, town.recorder.key))
    assert type(error) is MalformedAmount
    assert str(2**64) in error.message


def test_a_donation_into_an_unknown_fund_is_refused(town: Town) -> None:
    error = refusal(town, town.recorder.sign("donation.receive", money_donation(fund="F-NOPE")))
    assert type(error) is NotFound
    assert "F-NOPE" in error.message


def test_a_goods_donation_into_an_unknown_store_is_refused(town: Town) -> None:
    error = refusal(town, town.recorder.sign("donation.receive", goods_donation(store="S-NOPE")))
    assert type(error) is NotFound
    assert "S-NOPE" in error.message


def test_an_allocation_from_an_unknown_fund_is_refused(town: Town) -> None:
    error = refusal(town, town.recorder.sign("allocation.make", allocation(100, fund="F-NOPE")))
    assert type(error) is NotFound
    assert "F-NOPE" in error.message


def test_an_allocation_to_an_unknown_program_is_refused(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(1_000))
    error = refusal(town, town.recorder.sign("allocation.make", allocation(100, program="P-NOPE")))
    assert type(error) is NotFound
    assert "P-NOPE" in error.message


def test_a_disbursement_from_an_unknown_program_is_refused(town: Town) -> None:
    error = refusal(town, town.recorder.sign("disbursement.make", disbursement(100, program="P-NOPE")))
    assert type(error) is NotFound
    assert "P-NOPE" in error.message


def test_a_receipt_number_is_recorded_only_once(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100, receipt_no="R2026-0007"))
    again = town.recorder.sign("donation.receive", money_donation(200, receipt_no="R2026-0007"))
    error = refusal(town, again)
    assert type(error) is AlreadyExists
    assert "R2026-0007" in error.message
    assert town.fund().total == 100


def test_an_allocation_moves_money_from_the_fund_to_the_program(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "allocation.make", allocation(60_000))
    assert (town.fund().total, town.program().total) == (40_000, 60_000)


def test_a_fund_never_goes_negative(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(40_000))
    error = refusal(town, town.recorder.sign("allocation.make", allocation(60_000)))
    assert type(error) is InsufficientBalance
    assert "F-DISASTER" in error.message
    assert town.fund().total == 40_000


def test_a_program_never_goes_negative(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(10_000))
    town.submit(town.recorder, "allocation.make", allocation(5_000))
    error = refusal(town, town.recorder.sign("disbursement.make", disbursement(5_001)))
    assert type(error) is InsufficientBalance
    assert "P-FLOOD" in error.message
    assert town.program().total == 5_000


def test_a_disbursement_pays_out_of_the_program(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(10_000))
    town.submit(town.recorder, "allocation.make", allocation(5_000))
    town.submit(town.recorder, "disbursement.make", disbursement(1_500))
    assert town.program().total == 3_500


def test_directed_money_is_not_allocated_to_a_program_of_another_category(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(10_000, purpose="disaster_relief"))
    body = allocation(5_000, program="P-DIBAO", purpose="disaster_relief")
    error = refusal(town, town.recorder.sign("allocation.make", body))
    assert type(error) is DirectedMisuse
    assert "P-DIBAO" in error.message


def test_directed_money_cannot_be_spent_as_undirected(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(10_000, purpose="disaster_relief"))
    error = refusal(town, town.recorder.sign("allocation.make", allocation(5_000)))
    assert type(error) is InsufficientBalance
    assert "undirected" in error.message


def test_a_restricted_fund_is_not_allocated_to_a_program_of_another_category(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(10_000, fund="F-DIBAO"))
    body = allocation(5_000, fund="F-DIBAO", program="P-FLOOD")
    error = refusal(town, town.recorder.sign("allocation.make", body))
    assert type(error) is DirectedMisuse
    assert "F-DIBAO" in error.message
    assert "P-FLOOD" in error.message


def test_a_restricted_fund_refuses_money_directed_elsewhere(town: Town) -> None:
    body = money_donation(10_000, fund="F-DIBAO", purpose="disaster_relief")
    error = refusal(town, town.recorder.sign("donation.receive", body))
    assert type(error) is DirectedMisuse
    assert "F-DIBAO" in error.message


def test_a_restricted_fund_serves_its_own_category(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(10_000, fund="F-DIBAO"))
    town.submit(town.recorder, "allocation.make", allocation(4_000, fund="F-DIBAO", program="P-DIBAO"))
    assert (town.fund("F-DIBAO").total, town.program("P-DIBAO").total) == (6_000, 4_000)


def test_a_transfer_moves_directed_money_keeping_its_purpose(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(10_000, purpose="dibao"))
    body = transfer(3_000, from_fund="F-DISASTER", to_fund="F-DIBAO", purpose="dibao")
    town.submit(town.recorder, "transfer.make", body)
    assert town.fund("F-DISASTER").balances == {"dibao": 7_000}
    assert town.fund("F-DIBAO").balances == {"dibao": 3_000}


def test_a_restricted_fund_does_not_transfer_to_a_fund_of_another_category(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(10_000, fund="F-DIBAO"))
    body = transfer(3_000, from_fund="F-DIBAO", to_fund="F-DISASTER")
    error = refusal(town, town.recorder.sign("transfer.make", body))
    assert type(error) is DirectedMisuse
    assert "F-DIBAO" in error.message


def test_a_transfer_never_takes_a_fund_below_zero(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(1_000))
    body = transfer(1_001, from_fund="F-DISASTER", to_fund="F-DIBAO")
    error = refusal(town, town.recorder.sign("transfer.make", body))
    assert type(error) is InsufficientBalance
    assert "F-DISASTER" in error.message


def test_restricted_money_does_not_escape_its_category_through_a_transfer(town: Town) -> None:
    town.submit(town.head, "fund.open", {"code": "F-DIBAO-GEN", "name": "低保一般资金",
                                         "category": "dibao", "restricted": False,
                                         "department": "shehui"})  # fmt: skip
    town.submit(town.recorder, "donation.receive", money_donation(10_000, fund="F-DIBAO"))
    before = town.position()
    with pytest.raises(BatchRejected) as caught:
        town.app.submit_batch([
            town.recorder.sign("transfer.make",
                               transfer(10_000, from_fund="F-DIBAO", to_fund="F-DIBAO-GEN")),
            town.recorder.sign("allocation.make",
                               allocation(10_000, fund="F-DIBAO-GEN", program="P-FLOOD")),
        ])  # fmt: skip
    assert DirectedMisuse in [type(error) for _, error in caught.value.problems]
    assert town.recorded_since(before) == 0


def test_an_appropriation_credits_its_fund(town: Town) -> None:
    body = {"document_no": "县财社〔2026〕12号", "level": "county", "fund": "F-DIBAO",
            "amount": 500_000, "date": "2026-07-01", "purpose": "dibao"}  # fmt: skip
    town.submit(town.recorder, "appropriation.receive", body)
    assert town.fund("F-DIBAO").balances == {"dibao": 500_000}


def test_an_appropriation_document_is_recorded_once_per_fund(town: Town) -> None:
    body = {"document_no": "县财社〔2026〕12号", "level": "county", "fund": "F-DIBAO",
            "amount": 500_000, "date": "2026-07-01"}  # fmt: skip
    town.submit(town.recorder, "appropriation.receive", body)
    error = refusal(town, town.recorder.sign("appropriation.receive", body))
    assert type(error) is AlreadyExists
    assert "县财社〔2026〕12号" in error.message


def test_a_donation_may_fulfil_a_recorded_pledge(town: Town) -> None:
    pledge = {"pledge_no": "P2026-01", "fund": "F-DISASTER", "donor_class": "enterprise",
              "amount": 100_000, "date": "2026-07-09"}  # fmt: skip
    town.submit(town.recorder, "pledge.record", pledge)
    town.submit(town.recorder, "donation.receive", {**money_donation(100_000), "pledge_no": "P2026-01"})
    assert town.fund().total == 100_000


def test_a_donation_citing_an_unknown_pledge_is_refused(town: Town) -> None:
    body = {**money_donation(100_000), "pledge_no": "P2026-99"}
    error = refusal(town, town.recorder.sign("donation.receive", body))
    assert type(error) is NotFound
    assert "P2026-99" in error.message

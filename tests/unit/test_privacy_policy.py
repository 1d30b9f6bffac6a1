"""The privacy policy on the in-memory ledger: which commands may carry personal data, what it
must hold, and the public body rules that keep it out of the public part."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.commands import spec_of
from ledger.errors import LedgerError, MalformedCommand
from ledger.fields import Fields
from tests.builders import Town, money_donation, refusal
from tests.people import PROTECTED_PSEUDONYM, person, registration


def refused(town: Town, **data: object) -> LedgerError:
    return refusal(town, registration(town.recorder, "R-7K2Q9D", person(**data)))  # type: ignore[arg-type]


def test_a_donation_with_consent_carries_no_sealed_part(memory_town: Town) -> None:
    body = {**money_donation(), "donor_name": "某公司", "consent": True}
    envelope = memory_town.recorder.sign("donation.receive", body, sealed={"donor_name": "某公司"},
                                         subject="donor:R2026-0001")  # fmt: skip
    assert "may not carry a sealed part" in refusal(memory_town, envelope).message


def test_a_registration_needs_its_sealed_part(memory_town: Town) -> None:
    body = {"program": "P-DIBAO", "pseudonym": "R-7K2Q9D", "village": "流长村"}
    error = refusal(memory_town, memory_town.recorder.sign("recipient.register", body))
    assert "needs a sealed part" in error.message


@pytest.mark.parametrize(
    ("data", "field"),
    [({"phone": "12345"}, "phone"), ({"bank_account": "6228480000000000001"}, "bank_account"),
     ({"household_size": 0}, "household_size"), ({"flags": ["vip"]}, "flags"),
     ({"name": "张3"}, "name"), ({"religion": "x"}, "religion")],
)  # fmt: skip
def test_sealed_data_is_checked_field_by_field(memory_town: Town, data: dict[str, object], field: str) -> None:
    assert field in refused(memory_town, **data).message


def test_a_flag_that_protects_requires_protection(memory_town: Town) -> None:
    error = refused(memory_town, flags=("hiv",))
    assert isinstance(error, MalformedCommand) and "must be registered as protected" in error.message


def test_protection_needs_a_reason(memory_town: Town) -> None:
    envelope = registration(memory_town.recorder, PROTECTED_PSEUDONYM, person(), protected=True)
    assert "needs a reason" in refusal(memory_town, envelope).message


def test_a_protected_registration_names_nobody_in_public() -> None:
    with pytest.raises(MalformedCommand, match="left out for a protected recipient"):
        spec_of("recipient.register").validate(Fields(
            {"program": "P-DIBAO", "protected": True, "pseudonym": "R-7K2Q9D", "ref": "x"}))  # fmt: skip


def test_a_child_is_protected_by_the_birth_date_in_the_id_number(memory_town: Town) -> None:
    error = refused(memory_town, born=date(2012, 1, 1))
    assert "a minor" in error.message


def test_an_organisation_that_consented_may_give_its_credit_code() -> None:
    body = {**money_donation(), "donor_name": "某公司", "consent": True, "donor_code": "91350100M000100Y43"}
    spec_of("donation.receive").validate(Fields(body))


@pytest.mark.parametrize(
    "change",
    [{"donor_code": "91350100M000100Y44"},
     {"donor_code": "91350100M000100Y43", "consent": False, "donor_name": None},
     {"donor_code": "91350100M000100Y43", "donor_class": "individual"}],
)  # fmt: skip
def test_a_wrong_or_unconsented_credit_code_is_refused(change: dict[str, object]) -> None:
    body = {**money_donation(), "donor_name": "某公司", "consent": True, **change}
    with pytest.raises(MalformedCommand, match="donor_code"):
        spec_of("donation.receive").validate(Fields({k: v for k, v in body.items() if v is not None}))

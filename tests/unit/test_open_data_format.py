"""The small pieces of the open-data exports: the town's organisation identifier, exact money."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.identity import check_credit_code, credit_code_check_char
from publish.giving360 import encode
from publish.iati import yuan
from publish.organisation import (
    DEMO_CREDIT_CODE,
    DEMO_ORG_ID,
    Organisation,
    OrganisationError,
    check_org_id,
)


def test_the_demo_identifier_has_the_shape_and_check_characters_of_a_credit_code() -> None:
    assert check_credit_code(DEMO_CREDIT_CODE, "code") == DEMO_CREDIT_CODE
    assert DEMO_ORG_ID == "CN-USCC-" + DEMO_CREDIT_CODE and "DEMX" in DEMO_CREDIT_CODE
    town = Organisation.of_town("流长镇")
    assert (town.ref, town.name, town.is_demo) == (DEMO_ORG_ID, "流长镇人民政府", True)


def test_a_real_identifier_replaces_the_demo_one() -> None:
    first17 = "11520122MB1234567"
    code = first17 + credit_code_check_char(first17)
    assert not Organisation.of_town("流长镇", "CN-USCC-" + code).is_demo


@pytest.mark.parametrize("org_id", ["XM-DAC-41114", "CN-USCC-11520122DEMX00014A", "CN-USCC-1152"])
def test_an_identifier_that_is_not_a_checked_credit_code_is_refused(org_id: str) -> None:
    with pytest.raises(OrganisationError):
        check_org_id(org_id)


@pytest.mark.parametrize(("fen", "text"), [(0, "0.00"), (5, "0.05"), (123_456, "1234.56"), (-12_345, "-123.45")])
def test_iati_values_are_exact_yuan(fen: int, text: str) -> None:
    assert yuan(fen) == text


def test_360giving_json_writes_money_exactly_and_refuses_floats() -> None:
    assert encode({"amountAwarded": Decimal(123_456).scaleb(-2), "ok": [True, None, "流长村"]}) == (
        '{\n "amountAwarded": 1234.56,\n "ok": [\n  true,\n  null,\n  "流长村"\n ]\n}')  # fmt: skip
    with pytest.raises(TypeError, match="no floats"):
        encode({"amount": 0.1})

"""Builders for tests of the recipient registry: made-up people with valid ID numbers, and the
signed commands that register, pay and erase them."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.commands import SignedCommand, Signer
from ledger.identity import resident_id_check_char
from ledger.recipients import erase_body, register_body
from tests.builders import DATE, JURISDICTION

XIFENG = "520122"  # 息烽县
PROTECTED_PSEUDONYM = "P-7K2Q9DX4M8WT3B6N"


def resident_id(born: date, sequence: int = 123, region: str = XIFENG) -> str:
    """A resident ID number with a valid check digit (GB 11643)."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def mistyped(number: str) -> str:
    """The same number with its check digit wrong."""
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong


def person(name: str = "张三明", *, born: date = date(1962, 3, 14), household_size: int = 3,
           flags: tuple[str, ...] = (), **more: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "name": name,
        "id_number": resident_id(born),
        "household_size": household_size,
        "flags": list(flags),
        "phone": "13812345678",
        "address": "息烽县流长镇流长村新寨组12号",
        **more,
    }


def registration(
    signer: Signer,
    pseudonym: str = "R-7K2Q9D",
    data: dict[str, Any] | None = None,
    *,
    program: str = "P-DIBAO",
    village: str = "流长村",
    protected: bool = False,
) -> SignedCommand:
    body = register_body(JURISDICTION, program, pseudonym, None if protected else village,
                         protected=protected)  # fmt: skip
    return signer.sign("recipient.register", body, sealed=data or person(), subject=pseudonym)


def payment(
    signer: Signer,
    amount: int,
    pseudonym: str | None = "R-7K2Q9D",
    *,
    program: str = "P-DIBAO",
    village: str = "流长村",
    protected: bool = False,
    period: str = "2026-07",
) -> SignedCommand:
    body: dict[str, Any] = {"program": program, "amount": amount, "date": DATE, "period": period}
    if protected:
        body["protected"] = True
        if pseudonym is None:
            return signer.sign("disbursement.make", body)
        return signer.sign("disbursement.make", body, sealed={"recipient": pseudonym},
                           subject=pseudonym)  # fmt: skip
    body.update(recipient=pseudonym, village=village)
    return signer.sign("disbursement.make", body)


def erasure(signer: Signer, pseudonym: str = "R-7K2Q9D", reason: str = "本人申请删除个人信息") -> SignedCommand:
    return signer.sign("recipient.erase", erase_body(JURISDICTION, pseudonym, reason), sealed={},
                       subject=pseudonym)  # fmt: skip

"""Builders that keep tests short: a founded town with its officials and accounts, the bodies
of common commands, re-signed (tampered or forged) envelopes, and a count of what was stored.

Every key is derived from a fixed seed, so key ids are the same in every run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from ledger.accounts import Fund, Program, Store
from ledger.application import CommandResult, Ledger
from ledger.canonical import canonical
from ledger.commands import SignedCommand, Signer, payload_of
from ledger.errors import LedgerError
from ledger.keys import PrivateKey

JURISDICTION = "流长镇"
DATE = "2026-07-10"


def key(name: str) -> PrivateKey:
    return PrivateKey.from_seed(f"gongkai-tests/{name}".encode())


# (attribute on Town, name, role, department): the town's standard officials.
OFFICIALS = (
    ("recorder", "李经办", "recorder", "shehui"),
    ("head", "张主任", "department_head", "shehui"),
    ("leader", "赵镇长", "leader_in_charge", "dangzheng"),
    ("filer", "孙备案", "office_filer", "dangzheng"),
    ("auditor", "周审计", "auditor", "dangzheng"),
    ("other_recorder", "吴经办", "recorder", "weisheng"),
)


@dataclass(frozen=True)
class Town:
    """A founded ledger of 流长镇 with its standard officials and accounts."""

    app: Ledger
    jurisdiction: str
    admin: Signer
    recorder: Signer
    head: Signer
    leader: Signer
    filer: Signer
    auditor: Signer
    other_recorder: Signer

    def submit(
        self, signer: Signer, cmd: str, body: dict[str, Any], *, idem: str | None = None
    ) -> CommandResult:
        return self.app.submit(signer.sign(cmd, body, idem=idem))

    def fund(self, code: str = "F-DISASTER") -> Fund:
        found = self.app.account(Fund, code)
        assert isinstance(found, Fund)
        return found

    def program(self, code: str = "P-FLOOD") -> Program:
        found = self.app.account(Program, code)
        assert isinstance(found, Program)
        return found

    def store(self, code: str = "S-MAIN") -> Store:
        found = self.app.account(Store, code)
        assert isinstance(found, Store)
        return found

    def position(self) -> int:
        return position(self.app)

    def recorded_since(self, mark: int) -> int:
        return recorded_since(self.app, mark)


def position(app: Ledger) -> int:
    """Where the ledger's notification log ends now (0 when nothing is stored)."""
    return int(app.recorder.max_notification_id() or 0)


def recorded_since(app: Ledger, mark: int) -> int:
    """How many events were stored after the position ``mark``."""
    return len(app.recorder.select_notifications(start=mark + 1, limit=10_000))


def refusal(to: Town | Ledger, envelope: SignedCommand) -> LedgerError:
    """Submit a command that must be refused; check nothing was stored; return the error."""
    app = to.app if isinstance(to, Town) else to
    before = position(app)
    with pytest.raises(LedgerError) as caught:
        app.submit(envelope)
    assert recorded_since(app, before) == 0, "a refused command recorded events"
    return caught.value


def genesis(admin: PrivateKey, jurisdiction: str = JURISDICTION) -> dict[str, Any]:
    return {
        "jurisdiction": jurisdiction,
        "administrator": {
            "name": "王管理",
            "role": "administrator",
            "department": "dangzheng",
            "public_key": admin.public.b64(),
        },
    }


def enrolment(official: PrivateKey, name: str, role: str, department: str) -> dict[str, Any]:
    return {"name": name, "role": role, "department": department, "public_key": official.public.b64()}


STANDARD_ACCOUNTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("fund.open", {"code": "F-DISASTER", "name": "救灾捐赠资金", "category": "disaster_relief",
                   "restricted": False, "department": "shehui"}),
    ("fund.open", {"code": "F-DIBAO", "name": "低保专项资金", "category": "dibao",
                   "restricted": True, "department": "shehui"}),
    ("program.open", {"code": "P-FLOOD", "name": "7月洪灾救助", "category": "disaster_relief",
                      "department": "shehui"}),
    ("program.open", {"code": "P-DIBAO", "name": "城乡低保月发放", "category": "dibao",
                      "department": "shehui"}),
    ("store.open", {"code": "S-MAIN", "name": "镇救灾物资仓库", "department": "shehui"}),
)  # fmt: skip


def found_town(app: Ledger) -> Town:
    """Found the ledger, enrol the standard officials and open the standard accounts."""
    admin = Signer(key("admin"), JURISDICTION)
    app.submit(admin.sign("registry.found", genesis(admin.key)))
    signers: dict[str, Signer] = {}
    for attribute, name, role, department in OFFICIALS:
        signers[attribute] = Signer(key(attribute), JURISDICTION)
        app.submit(admin.sign("official.enrol", enrolment(key(attribute), name, role, department)))
    for cmd, body in STANDARD_ACCOUNTS:
        app.submit(signers["head"].sign(cmd, body))
    return Town(app=app, jurisdiction=JURISDICTION, admin=admin, **signers)


# --- command bodies -------------------------------------------------------------------------


def money_donation(
    amount: object = 100_000,
    *,
    receipt_no: str = "R2026-0001",
    fund: str = "F-DISASTER",
    purpose: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_no": receipt_no,
        "date": DATE,
        "donor_class": "enterprise",
        "fund": fund,
        "amount": amount,
    }
    if purpose is not None:
        body["purpose"] = purpose
    return body


def goods_line(
    quantity: int = 100, *, item: str = "KN95 口罩", grade: str = "GB 2626", unit: str = "只"
) -> dict[str, Any]:
    return {"item": item, "grade": grade, "unit": unit, "quantity": quantity}


def goods_donation(
    *lines: dict[str, Any],
    receipt_no: str = "R2026-0101",
    store: str = "S-MAIN",
    purpose: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_no": receipt_no,
        "date": DATE,
        "donor_class": "enterprise",
        "store": store,
        "goods": list(lines) or [goods_line()],
    }
    if purpose is not None:
        body["purpose"] = purpose
    return body


def goods_receipt(
    *lines: dict[str, Any], store: str = "S-MAIN", purpose: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store": store,
        "goods": list(lines) or [goods_line()],
        "source": "县应急管理局调拨",
        "date": DATE,
    }
    if purpose is not None:
        body["purpose"] = purpose
    return body


def allocation(
    amount: object,
    *,
    fund: str = "F-DISASTER",
    program: str = "P-FLOOD",
    purpose: str | None = None,
    date: str = DATE,
) -> dict[str, Any]:
    body: dict[str, Any] = {"fund": fund, "program": program, "amount": amount, "date": date}
    if purpose is not None:
        body["purpose"] = purpose
    return body


def transfer(
    amount: object, *, from_fund: str, to_fund: str, purpose: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"from_fund": from_fund, "to_fund": to_fund, "amount": amount, "date": DATE}
    if purpose is not None:
        body["purpose"] = purpose
    return body


def disbursement(
    amount: object, *, program: str = "P-FLOOD", recipient: str = "R-7K2Q9D"
) -> dict[str, Any]:
    return {"program": program, "amount": amount, "date": DATE, "recipient": recipient,
            "village": "流长村"}  # fmt: skip


def goods_issue(
    *lines: dict[str, Any],
    approved_by: str,
    store: str = "S-MAIN",
    category: str = "disaster_relief",
    purpose: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store": store,
        "goods": list(lines) or [goods_line()],
        "category": category,
        "institution": "流长镇敬老院",
        "approved_by": approved_by,
        "date": DATE,
    }
    if purpose is not None:
        body["purpose"] = purpose
    return body


def correction(
    app: Ledger,
    aggregate_id: UUID,
    version: int,
    *,
    replacement: dict[str, Any] | None = None,
    note: str = "录入错误，予以更正",
) -> dict[str, Any]:
    """A correction of a stored event, copying the original from what was recorded."""
    original = payload_of(app.stored_event(aggregate_id, version).signed)  # type: ignore[attr-defined]
    body: dict[str, Any] = {
        "corrects": {"aggregate": str(aggregate_id), "version": version},
        "original": {"cmd": original["cmd"], "body": original["body"]},
        "note": note,
    }
    if replacement is not None:
        body["replacement"] = replacement
    return body


# --- forged and tampered envelopes ----------------------------------------------------------


def resigned(envelope: SignedCommand, signer: PrivateKey, **changes: Any) -> SignedCommand:
    """The envelope's payload with ``changes`` applied, properly signed by ``signer``."""
    payload = json.loads(envelope.signed)
    payload.update(changes)
    return signed_bytes(canonical(payload), signer)


def signed_bytes(data: bytes, signer: PrivateKey) -> SignedCommand:
    """Arbitrary bytes with a valid signature: what a client bypassing ``Signer`` could send."""
    return SignedCommand(data, signer.sign(data), signer.key_id)


def flip_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]

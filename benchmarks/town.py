"""A small founded ledger to record into: an administrator, a recorder and a department head
of 社会事务办, one fund with a large appropriation allocated to one program, and the bodies of
single-event commands (a disbursement touches one aggregate: its program).

Keys derive from a fixed seed, so key ids are the same in every run and in every process.
"""

from __future__ import annotations

from typing import Any

from ledger.application import Ledger
from ledger.commands import Signer
from ledger.keys import PrivateKey

JURISDICTION = "流长镇"
PROGRAM = "P-BENCH"
FUND = "F-BENCH"
DAY = "2026-07-10"
VILLAGES = ("流长村", "马场村", "楠木村", "新华村", "黄坪村")
_BUDGET = 10**15  # fen: never the limit of a benchmark


def key(name: str) -> PrivateKey:
    return PrivateKey.from_seed(f"gongkai-bench/{name}".encode())


def signer(name: str) -> Signer:
    return Signer(key(name), JURISDICTION)


def found(app: Ledger) -> Signer:
    """Found the ledger and fund the program; the recorder's signer."""
    admin, recorder, head = signer("admin"), signer("recorder"), signer("head")
    app.submit(admin.sign("registry.found", {
        "jurisdiction": JURISDICTION,
        "administrator": {"name": "王管理", "role": "administrator", "department": "dangzheng",
                          "public_key": admin.key.public.b64()},
    }))  # fmt: skip
    for who, name, role in ((recorder, "李经办", "recorder"), (head, "张主任", "department_head")):
        app.submit(admin.sign("official.enrol", {"name": name, "role": role, "department": "shehui",
                                                 "public_key": who.key.public.b64()}))  # fmt: skip
    app.submit(head.sign("fund.open", {"code": FUND, "name": "基准测试资金", "category": "dibao",
                                       "restricted": False, "department": "shehui"}))  # fmt: skip
    app.submit(head.sign("program.open", {"code": PROGRAM, "name": "基准测试发放", "category": "dibao",
                                          "department": "shehui"}))  # fmt: skip
    app.submit(recorder.sign("appropriation.receive", {
        "document_no": "息财社〔2026〕1号", "level": "county", "fund": FUND, "amount": _BUDGET,
        "date": "2026-07-01",
    }))  # fmt: skip
    app.submit(recorder.sign("allocation.make", {"fund": FUND, "program": PROGRAM,
                                                 "amount": _BUDGET, "date": "2026-07-02"}))  # fmt: skip
    return recorder


def pseudonym(index: int) -> str:
    """R-…: letters and digits, never a run of seven digits."""
    return f"R-B{index:06d}"


def disbursement(index: int) -> dict[str, Any]:
    return {"program": PROGRAM, "amount": 31_500 + index % 500, "date": DAY, "period": "2026-07",
            "recipient": pseudonym(index), "village": VILLAGES[index % len(VILLAGES)]}  # fmt: skip

"""The ``gongkai`` command line end to end, on SQLite and PostgreSQL: a finance officer's day,
refusals that exit non-zero with the reason on stderr and record nothing, and an auditor's
checkpoint, proofs and verify."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from api.cli import main

Gongkai = Callable[..., Result]


@pytest.fixture
def gongkai(database_url: str, tmp_path: Path) -> Gongkai:
    env = {
        "GONGKAI_DATABASE_URL": database_url,
        "GONGKAI_PASSPHRASE": "correct horse",
        "GONGKAI_LOG_KEY_FILE": str(tmp_path / "log.key"),
        "GONGKAI_ENV": "development",
    }
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return run


@pytest.fixture
def town(gongkai: Gongkai, tmp_path: Path) -> Path:
    """Keys for an administrator, a recorder and a head; a founded ledger; a fund and a program."""
    keys = tmp_path / "keys"
    for name in ("admin", "li", "zhang", "zhao", "sun"):
        gongkai("keys", "new", "--out", str(keys / name))
    gongkai("init", "--jurisdiction", "流长镇", "--name", "王管理", "--as", str(keys / "admin.key"))
    for name, role, department in (("li", "recorder", "shehui"), ("zhang", "department_head", "shehui"),
                                   ("zhao", "leader_in_charge", "dangzheng"),
                                   ("sun", "office_filer", "dangzheng")):
        gongkai("officials", "enrol", "--as", str(keys / "admin.key"), "--pub", str(keys / f"{name}.pub"),
                "--name", name, "--role", role, "--department", department)  # fmt: skip
    gongkai("funds", "open", "--as", str(keys / "zhang.key"), "--code", "F-FLOOD", "--name", "洪灾捐赠",
            "--category", "disaster_relief", "--department", "shehui")  # fmt: skip
    gongkai("programs", "open", "--as", str(keys / "zhang.key"), "--code", "P-FLOOD", "--name", "洪灾救助",
            "--category", "disaster_relief", "--department", "shehui")  # fmt: skip
    return keys


def balances(gongkai: Gongkai) -> dict[str, Any]:
    return {row["code"]: row for row in json.loads(gongkai("balances", "--json").output)}


def test_a_recorded_donation_allocation_and_payment_show_in_the_balances(gongkai: Gongkai, town: Path) -> None:
    li = str(town / "li.key")
    gongkai("record", "donation", "--as", li, "--receipt-no", "LC2026-000001", "--donor-class",
            "enterprise", "--donor-name", "某公司", "--consent", "--purpose", "disaster_relief",
            "--fund", "F-FLOOD", "--amount", "1.5万", "--date", "2026-07-08")  # fmt: skip
    gongkai("record", "allocation", "--as", li, "--fund", "F-FLOOD", "--program", "P-FLOOD",
            "--amount", "10000", "--date", "2026-07-09")  # fmt: skip
    gongkai("record", "disbursement", "--as", li, "--program", "P-FLOOD", "--amount", "800",
            "--recipient", "R-7K2Q9D", "--village", "流长村", "--date", "2026-07-10")  # fmt: skip

    rows = balances(gongkai)
    assert rows["F-FLOOD"]["balance_fen"] == 500_000
    assert rows["F-FLOOD"]["buckets_fen"] == {"disaster_relief": 500_000}
    assert rows["P-FLOOD"]["balance_fen"] == 920_000


def test_a_refused_command_exits_1_names_the_reason_and_records_nothing(
    gongkai: Gongkai, town: Path
) -> None:
    before = gongkai("history", "fund:F-FLOOD", "--json").output

    result = gongkai("record", "allocation", "--as", str(town / "li.key"), "--fund", "F-FLOOD",
                     "--program", "P-FLOOD", "--amount", "100", ok=False)  # fmt: skip

    assert result.exit_code == 1
    assert "error: insufficient_balance:" in result.stderr
    assert "F-FLOOD" in result.stderr
    assert gongkai("history", "fund:F-FLOOD", "--json").output == before


def test_a_malformed_amount_is_refused_before_signing(gongkai: Gongkai, town: Path) -> None:
    result = gongkai("record", "donation", "--as", str(town / "li.key"), "--receipt-no", "R1",
                     "--donor-class", "individual", "--fund", "F-FLOOD", "--amount", "12.345",
                     ok=False)  # fmt: skip
    assert result.exit_code == 1
    assert "malformed_amount" in result.stderr
    assert "12.345" in result.stderr


def test_a_department_head_cannot_record_money(gongkai: Gongkai, town: Path) -> None:
    result = gongkai("record", "donation", "--as", str(town / "zhang.key"), "--receipt-no", "R1",
                     "--donor-class", "individual", "--fund", "F-FLOOD", "--amount", "10",
                     ok=False)  # fmt: skip
    assert result.exit_code == 1
    assert "wrong_role" in result.stderr


def test_a_revoked_official_can_no_longer_record(gongkai: Gongkai, town: Path) -> None:
    officials = json.loads(gongkai("officials", "list", "--json").output)
    li = next(o for o in officials if o["name"] == "li")
    gongkai("officials", "revoke", "--as", str(town / "admin.key"), "--key-id", li["key_id"],
            "--reason", "调离")  # fmt: skip

    result = gongkai("record", "donation", "--as", str(town / "li.key"), "--receipt-no", "R1",
                     "--donor-class", "individual", "--fund", "F-FLOOD", "--amount", "10",
                     ok=False)  # fmt: skip

    assert result.exit_code == 1
    assert "revoked_key" in result.stderr


def test_retrying_with_the_same_idempotency_key_records_once(gongkai: Gongkai, town: Path) -> None:
    args = ("record", "donation", "--as", str(town / "li.key"), "--receipt-no", "R1",
            "--donor-class", "individual", "--fund", "F-FLOOD", "--amount", "10",
            "--idempotency-key", "retry-1")  # fmt: skip
    gongkai(*args)
    again = gongkai(*args)
    assert "already recorded" in again.output
    assert balances(gongkai)["F-FLOOD"]["balance_fen"] == 1_000


def test_an_import_with_bad_rows_lists_them_and_records_nothing(
    gongkai: Gongkai, town: Path, tmp_path: Path
) -> None:
    sheet = tmp_path / "donations.csv"
    sheet.write_text(
        "收据编号,日期,捐赠方类别,捐赠方名称,同意公开,定向用途,资金代码,金额(元)\n"
        "LC-1,2026-07-08,个人,,否,,F-FLOOD,100\n"
        "LC-2,2026-07-08,个人,,否,,F-NOPE,100\n"
        "LC-3,2026-07-08,个人,,否,,F-FLOOD,12.345\n",
        encoding="utf-8",
    )
    result = gongkai("import", str(sheet), "--as", str(town / "li.key"), ok=False)
    assert result.exit_code == 1
    assert "row 3, column 资金代码" in result.stderr
    assert "row 4, column 金额(元)" in result.stderr
    assert balances(gongkai)["F-FLOOD"]["balance_fen"] == 0


def test_an_auditor_checkpoints_proves_and_verifies(gongkai: Gongkai, town: Path, tmp_path: Path) -> None:
    first = gongkai("log", "checkpoint", "--json")
    size = json.loads(first.output)["size"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "checkpoint").write_text(json.loads(first.output)["note"])
    gongkai("record", "donation", "--as", str(town / "li.key"), "--receipt-no", "R9",
            "--donor-class", "individual", "--fund", "F-FLOOD", "--amount", "10")  # fmt: skip
    gongkai("log", "checkpoint")

    inclusion = json.loads(gongkai("log", "prove", "inclusion", "2", "--json").output)
    consistency = json.loads(gongkai("log", "prove", "consistency", str(size), str(size + 2), "--json").output)
    report = json.loads(gongkai("verify", "--checkpoint", str(tmp_path / "old"), "--json").output)

    assert inclusion["leaf_index"] == 2
    assert consistency["size1"] == size
    assert report["ok"] is True
    assert report["size"] == size + 2
    assert sorted(set(report["checkpoints"])) == [size, size + 2]


def test_a_disclosure_is_drafted_reviewed_approved_published_and_scored(
    gongkai: Gongkai, town: Path, tmp_path: Path
) -> None:
    li, zhang, zhao, sun = (str(town / f"{n}.key") for n in ("li", "zhang", "zhao", "sun"))
    opened = gongkai("obligations", "open", "--as", li, "--obligation-no", "OB-1", "--title", "洪灾捐赠",
                     "--department", "shehui", "--area", "disaster", "--category", "disaster_relief",
                     "--formed-on", "2026-09-28")  # fmt: skip
    assert "due 2026-10-30" in opened.output  # 20 working days, across National Day and its 调休
    gongkai("disclosure", "draft", "--as", li, "--item-no", "GK-1", "--title", "洪灾捐赠接收情况",
            "--kind", "execution", "--area", "disaster", "--department", "shehui",
            "--report", "flows", "--obligation", "OB-1", "--date", "2026-10-09")  # fmt: skip
    gongkai("disclosure", "submit", "--as", li, "GK-1", "--date", "2026-10-09")
    self_review = gongkai("disclosure", "review", "--as", li, "GK-1", ok=False)
    assert "wrong_role" in self_review.stderr
    gongkai("disclosure", "review", "--as", zhang, "GK-1", "--date", "2026-10-10")
    gongkai("disclosure", "approve", "--as", zhao, "GK-1", "--date", "2026-10-12")
    gongkai("disclosure", "publish", "--as", li, "GK-1", "--channel", "notice_board", "--date", "2026-11-02")
    gongkai("disclosure", "file", "--as", sun, "GK-1", "--date", "2026-11-02")

    shown = json.loads(gongkai("disclosure", "show", "GK-1", "--json").output)
    assert shown["status"] == "filed"
    assert [t["official"] for t in shown["trail"]] == ["li", "li", "zhang", "zhao", "li", "sun"]
    record = json.loads(gongkai("deadlines", "--today", "2026-11-02", "--json").output)
    assert record["obligations"][0]["state"] == "late"
    out = tmp_path / "scorecard.csv"
    gongkai("deadlines", "scorecard", "--year", "2026", "--today", "2026-11-02", "--out", str(out))
    assert "镇社会事务办" in out.read_text(encoding="utf-8-sig")

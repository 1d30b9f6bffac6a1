"""``gongkai recipients`` end to end on SQLite and PostgreSQL: a recorder registers people, the
town prints its lists for each audience, an auditor proves their key to see everything, and an
administrator erases a person."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from api.cli import main
from tests.people import mistyped, resident_id

Gongkai = Callable[..., Result]
ZHANG_ID = resident_id(date(1962, 3, 14))
CHILD_ID = resident_id(date(2016, 5, 1), sequence=202)


@pytest.fixture
def gongkai(database_url: str, tmp_path: Path) -> Gongkai:
    env = {
        "GONGKAI_DATABASE_URL": database_url,
        "GONGKAI_PASSPHRASE": "correct horse",
        "GONGKAI_LOG_KEY_FILE": str(tmp_path / "log.key"),
        "GONGKAI_INTAKE_KEY_FILE": str(tmp_path / "intake.key"),
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
def keys(gongkai: Gongkai, tmp_path: Path) -> Path:
    """A founded town with a recorder, a head, an auditor; ¥10,000 in the 低保 program."""
    keys = tmp_path / "keys"
    for name in ("admin", "li", "zhang", "zhou"):
        gongkai("keys", "new", "--out", str(keys / name))
    gongkai("init", "--jurisdiction", "流长镇", "--name", "王管理", "--as", str(keys / "admin.key"))
    for name, role, department in (("li", "recorder", "shehui"), ("zhang", "department_head", "shehui"),
                                   ("zhou", "auditor", "dangzheng")):  # fmt: skip
        gongkai("officials", "enrol", "--as", str(keys / "admin.key"), "--pub", str(keys / f"{name}.pub"),
                "--name", name, "--role", role, "--department", department)  # fmt: skip
    for kind in ("funds", "programs"):
        gongkai(kind, "open", "--as", str(keys / "zhang.key"), "--code", f"{kind[0].upper()}-DIBAO",
                "--name", "低保", "--category", "dibao", "--department", "shehui")  # fmt: skip
    li = str(keys / "li.key")
    gongkai("record", "appropriation", "--as", li, "--document-no", "息财〔2026〕1号", "--level",
            "county", "--fund", "F-DIBAO", "--amount", "10000", "--date", "2026-07-01")  # fmt: skip
    gongkai("record", "allocation", "--as", li, "--fund", "F-DIBAO", "--program", "P-DIBAO",
            "--amount", "10000", "--date", "2026-07-02")  # fmt: skip
    return keys


def register(gongkai: Gongkai, keys: Path, *more: str, ok: bool = True) -> Result:
    return gongkai("recipients", "register", "--as", str(keys / "li.key"), "--program", "P-DIBAO",
                   "--household-size", "3", *more, ok=ok)  # fmt: skip


def pay(gongkai: Gongkai, keys: Path, amount: str, *more: str) -> None:
    gongkai("record", "disbursement", "--as", str(keys / "li.key"), "--program", "P-DIBAO",
            "--amount", amount, "--period", "2026-07", "--date", "2026-07-10", *more)  # fmt: skip


def listing(gongkai: Gongkai, audience: str, *more: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        gongkai("recipients", "list", "--audience", audience, "--json", *more).output
    )
    return data


def test_a_town_registers_pays_and_lists_its_recipients(gongkai: Gongkai, keys: Path) -> None:
    register(gongkai, keys, "--pseudonym", "R-7K2Q9D", "--village", "流长村", "--name", "张三明",
             "--id-number", ZHANG_ID, "--phone", "138 1234 5678")  # fmt: skip
    child = register(gongkai, keys, "--protected", "--name", "王小花", "--id-number", CHILD_ID,
                     "--flag", "minor", "--address", "息烽县流长镇马场村上寨组3号")  # fmt: skip
    pseudonym = child.output.split("pseudonym ")[1].strip()
    assert pseudonym.startswith("P-") and len(pseudonym) == 18
    pay(gongkai, keys, "1560", "--recipient", "R-7K2Q9D", "--village", "流长村")
    pay(gongkai, keys, "800", "--protected")

    village = gongkai("recipients", "list", "--audience", "village").output
    public = listing(gongkai, "public")

    assert "张*明  3人  ¥1,560.00" in village
    assert "另有 1 名受保护对象，合计 ¥800.00" in village
    assert "张三明" not in village and ZHANG_ID not in village and "R-7K2Q9D" not in village
    assert public["rows"] == [{"village": "流长村", "category": "dibao", "category_label": "城乡低保",
                               "recipients": 1, "amount_fen": 156_000}]  # fmt: skip
    assert public["total_fen"] == 236_000


def test_a_mistyped_id_number_exits_1_without_printing_it(gongkai: Gongkai, keys: Path) -> None:
    number = mistyped(ZHANG_ID)
    result = register(gongkai, keys, "--village", "流长村", "--name", "张三明", "--id-number", number,
                      ok=False)  # fmt: skip
    assert result.exit_code == 1
    assert "check digit" in result.stderr
    assert number[6:14] not in result.stderr + result.output
    assert listing(gongkai, "auditor", "--as", str(keys / "zhou.key"))["rows"] == []


def test_only_an_auditor_sees_the_full_list(gongkai: Gongkai, keys: Path) -> None:
    register(gongkai, keys, "--pseudonym", "R-7K2Q9D", "--village", "流长村", "--name", "张三明",
             "--id-number", ZHANG_ID)  # fmt: skip
    refused = gongkai("recipients", "list", "--audience", "auditor", "--as", str(keys / "li.key"), ok=False)
    missing = gongkai("recipients", "list", "--audience", "auditor", ok=False)
    full = listing(gongkai, "auditor", "--as", str(keys / "zhou.key"))

    assert refused.exit_code == 1 and "wrong_role" in refused.stderr
    assert missing.exit_code == 1 and "--as" in missing.stderr
    assert full["rows"][0]["id_number"] == ZHANG_ID


def test_an_administrator_erases_a_recipient(gongkai: Gongkai, keys: Path) -> None:
    register(gongkai, keys, "--pseudonym", "R-7K2Q9D", "--village", "流长村", "--name", "张三明",
             "--id-number", ZHANG_ID)  # fmt: skip
    pay(gongkai, keys, "1560", "--recipient", "R-7K2Q9D", "--village", "流长村")
    erase = ("recipients", "erase", "R-7K2Q9D", "--reason", "本人申请删除个人信息")

    by_recorder = gongkai(*erase, "--as", str(keys / "li.key"), ok=False)
    gongkai(*erase, "--as", str(keys / "admin.key"))

    assert by_recorder.exit_code == 1 and "wrong_role" in by_recorder.stderr
    village = gongkai("recipients", "list", "--audience", "village").output
    assert "张*明" not in village and "（已删除）  -  ¥1,560.00" in village
    full = listing(gongkai, "auditor", "--as", str(keys / "zhou.key"))
    assert full["rows"][0]["status"] == "erased" and full["rows"][0]["name"] is None
    assert json.loads(gongkai("verify", "--json").output)["ok"] is True


def test_a_retried_registration_prints_the_pseudonym_first_recorded(gongkai: Gongkai, keys: Path) -> None:
    args = ("--village", "流长村", "--name", "张三明", "--id-number", ZHANG_ID, "--idempotency-key", "reg-1")
    first = register(gongkai, keys, *args).output.split("pseudonym ")[1].strip()
    again = register(gongkai, keys, *args).output

    assert "already recorded" in again
    assert again.split("pseudonym ")[1].strip() == first


def test_a_list_as_of_a_checkpoint_is_the_list_as_it_stood_then(
    gongkai: Gongkai, keys: Path, tmp_path: Path
) -> None:
    register(gongkai, keys, "--pseudonym", "R-7K2Q9D", "--village", "流长村", "--name", "张三明",
             "--id-number", ZHANG_ID)  # fmt: skip
    pay(gongkai, keys, "1560", "--recipient", "R-7K2Q9D", "--village", "流长村")
    then = listing(gongkai, "public")
    (tmp_path / "checkpoint").write_text(json.loads(gongkai("log", "checkpoint", "--json").output)["note"])
    pay(gongkai, keys, "500", "--recipient", "R-7K2Q9D", "--village", "流长村")

    assert listing(gongkai, "public")["total_fen"] == 206_000
    assert listing(gongkai, "public", "--as-of", str(tmp_path / "checkpoint")) == then

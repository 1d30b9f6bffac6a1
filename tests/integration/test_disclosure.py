"""The plan's disclosure procedure on both backends: the signed chain from draft to filing,
separation of duties, legal clocks across the 2026 National Day holiday, the dashboard and
scorecard, and objections during a 公示 posting period."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from ledger.commands import Signer
from ledger.errors import (
    MalformedCommand,
    ObjectionPending,
    SeparationOfDuties,
    WorkflowError,
    WrongDepartment,
    WrongRole,
)
from ledger.workdays import CalendarError, add_working_days, clock
from projections.balances import BalancesProjection
from projections.deadlines import DisclosureProjection, dashboard, items, obligations, trail
from projections.runner import Runner
from projections.sql import Database
from publish.scorecard import write_scorecard
from tests.builders import Town, enrolment, key, refusal

ROOT = "A" * 43 + "="


def draft(item_no: str = "GK-2026-007", *, department: str = "shehui", posting: bool = False,
          obligations: list[str] | None = None, day: str = "2026-07-20") -> dict[str, Any]:  # fmt: skip
    return {
        "item_no": item_no, "title": "7月洪灾社会捐赠款物接收情况", "kind": "execution",
        "area": "disaster", "department": department, "posting": posting,
        "content": {"type": "report", "report": "flows", "params": {"fund": "F-DISASTER"},
                    "checkpoint": {"size": 12, "root": ROOT}},
        "obligations": obligations or [], "date": day,
    }  # fmt: skip


def step(item_no: str = "GK-2026-007", day: str = "2026-07-21", **extra: Any) -> dict[str, Any]:
    return {"item_no": item_no, "date": day, **extra}


def obligation(number: str, formed_on: str, rule: str = "default", department: str = "shehui") -> dict[str, Any]:
    c = clock(rule, date.fromisoformat(formed_on))
    return {"obligation_no": number, "title": "洪灾捐赠接收公开", "department": department,
            "area": "disaster", "rule": rule, "formed_on": formed_on, "due": c.due.isoformat(),
            "policy_version": c.policy_version, "calendar": c.calendar}  # fmt: skip


def through_review(town: Town, item_no: str = "GK-2026-007", **kwargs: Any) -> None:
    town.submit(town.recorder, "disclosure.draft", draft(item_no, **kwargs))
    town.submit(town.recorder, "disclosure.submit", step(item_no))
    town.submit(town.head, "disclosure.review", step(item_no))


def read(town: Town, db: Database) -> Database:
    Runner(town.app, db, [BalancesProjection(), DisclosureProjection()]).catch_up()
    return db


@pytest.fixture
def db(database_url: str) -> Any:
    database = Database(database_url)
    yield database
    database.close()


# --- the chain ---------------------------------------------------------------------------------


def test_a_flood_donation_disclosure_goes_from_draft_to_filing(town: Town, db: Database) -> None:
    through_review(town)
    town.submit(town.leader, "disclosure.approve", step(day="2026-07-22"))
    town.submit(town.recorder, "disclosure.publish", step(day="2026-07-23", channels=["notice_board"]))
    town.submit(town.filer, "disclosure.publish", step(day="2026-07-24", channels=["county_portal"]))
    town.submit(town.filer, "disclosure.file", step(day="2026-07-24"))

    (item,) = items(read(town, db))
    assert item["status"] == "filed"
    assert item["published_on"] == "2026-07-23"
    assert item["channels"] == ["notice_board", "county_portal"]
    steps = [(t["step"], t["official"]) for t in trail(db, "GK-2026-007")]
    assert steps == [("disclosure.draft", "李经办"), ("disclosure.submit", "李经办"),
                     ("disclosure.review", "张主任"), ("disclosure.approve", "赵镇长"),
                     ("disclosure.publish", "李经办"), ("disclosure.publish", "孙备案"),
                     ("disclosure.file", "孙备案")]  # fmt: skip


def test_the_drafter_cannot_review_their_own_item(town: Town) -> None:
    town.submit(town.recorder, "disclosure.draft", draft())
    town.submit(town.recorder, "disclosure.submit", step())
    town.submit(town.admin, "official.change_role",
                {"key_id": town.recorder.key.key_id, "role": "department_head", "department": "shehui"})  # fmt: skip
    error = refusal(town, town.recorder.sign("disclosure.review", step()))
    assert type(error) is SeparationOfDuties


def test_the_reviewer_cannot_also_approve(town: Town) -> None:
    through_review(town)
    town.submit(town.admin, "official.change_role",
                {"key_id": town.head.key.key_id, "role": "leader_in_charge", "department": "dangzheng"})  # fmt: skip
    error = refusal(town, town.head.sign("disclosure.approve", step()))
    assert type(error) is SeparationOfDuties


def test_a_recorder_cannot_approve(town: Town) -> None:
    through_review(town)
    error = refusal(town, town.recorder.sign("disclosure.approve", step()))
    assert type(error) is WrongRole


def test_a_recorder_of_another_department_cannot_draft_for_this_one(town: Town) -> None:
    error = refusal(town, town.other_recorder.sign("disclosure.draft", draft()))
    assert type(error) is WrongDepartment


def test_approving_before_review_is_out_of_order(town: Town) -> None:
    town.submit(town.recorder, "disclosure.draft", draft())
    error = refusal(town, town.leader.sign("disclosure.approve", step()))
    assert type(error) is WorkflowError
    assert "drafted" in error.message
    assert "reviewed" in error.message


def test_publishing_an_unapproved_item_is_refused(town: Town) -> None:
    through_review(town)
    error = refusal(town, town.recorder.sign("disclosure.publish", step(channels=["notice_board"])))
    assert type(error) is WorkflowError


def test_a_correction_links_the_replacement_item(town: Town, db: Database) -> None:
    through_review(town)
    town.submit(town.leader, "disclosure.approve", step())
    town.submit(town.recorder, "disclosure.publish", step(channels=["notice_board"]))
    town.submit(town.recorder, "disclosure.draft", draft("GK-2026-007-R1", day="2026-07-25"))
    town.submit(town.recorder, "disclosure.correct",
                step(day="2026-07-25", replacement_item_no="GK-2026-007-R1",
                     note="口罩型号应为KN95，数量18000只"))  # fmt: skip
    by_no = {i["item_no"]: i for i in items(read(town, db))}
    assert by_no["GK-2026-007"]["status"] == "corrected"
    assert by_no["GK-2026-007"]["corrected_by"] == "GK-2026-007-R1"
    assert by_no["GK-2026-007-R1"]["corrects"] == "GK-2026-007"
    assert "KN95" in by_no["GK-2026-007-R1"]["note"]


# --- clocks, dashboard, scorecard ----------------------------------------------------------------


def test_clocks_skip_the_national_day_holiday_and_count_its_make_up_workday() -> None:
    # 10 working days from Mon 28 Sep 2026: 29, 30 Sep; 1–7 Oct off; 8, 9, Sat 10 (调休), 12–16.
    assert clock("social_assistance", date(2026, 9, 28)).due == date(2026, 10, 16)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert clock("posting_period", date(2026, 9, 29)).due == date(2026, 10, 14)
    assert clock("default", date(2026, 9, 25)).due == date(2026, 10, 29)


def test_a_date_outside_the_calendar_fails_loudly() -> None:
    with pytest.raises(CalendarError, match="2027"):
        clock("default", date(2026, 12, 20))


def test_an_obligation_with_a_wrong_due_date_is_refused(town: Town) -> None:
    wrong = obligation("OB-1", "2026-09-28", "social_assistance") | {"due": "2026-10-12"}
    error = refusal(town, town.recorder.sign("obligation.open", wrong))
    assert type(error) is MalformedCommand
    assert "2026-10-16" in error.message


def test_an_item_published_after_its_due_date_is_late_on_the_dashboard_and_scorecard(
    town: Town, db: Database, tmp_path: Path
) -> None:
    town.submit(town.recorder, "obligation.open", obligation("OB-ON-TIME", "2026-09-28", "social_assistance"))
    town.submit(town.recorder, "obligation.open", obligation("OB-LATE", "2026-09-28", "social_assistance"))
    town.submit(town.recorder, "obligation.open", obligation("OB-OPEN", "2026-09-28", "social_assistance"))
    for item_no, number, published in (("GK-A", "OB-ON-TIME", "2026-10-16"), ("GK-B", "OB-LATE", "2026-10-19")):
        through_review(town, item_no, obligations=[number], day="2026-10-09")
        town.submit(town.leader, "disclosure.approve", step(item_no, day="2026-10-12"))
        town.submit(town.recorder, "disclosure.publish", step(item_no, day=published, channels=["notice_board"]))

    rows = obligations(read(town, db))
    states = {r.obligation_no: r.state(date(2026, 10, 20)) for r in rows}
    assert states == {"OB-ON-TIME": "on_time", "OB-LATE": "late", "OB-OPEN": "overdue"}
    (board,) = dashboard(rows, date(2026, 10, 20))
    assert (board["on_time"], board["late"], board["overdue"]) == (1, 1, 1)
    assert board["on_time_percent"] == 50.0
    assert board["median_working_days"] == 10.5  # 10 and 11 working days

    csv_path = write_scorecard([board], 2026, tmp_path / "scorecard.csv")
    with csv_path.open(encoding="utf-8-sig") as handle:
        table = list(csv.reader(handle))
    assert table[1][:8] == ["镇社会事务办", "灾害事故救援", "3", "2", "1", "1", "1", "0"]
    sheet = load_workbook(write_scorecard([board], 2026, tmp_path / "scorecard.xlsx")).active
    assert sheet is not None
    assert [c.value for c in sheet[2]][:8] == ["镇社会事务办", "灾害事故救援", 3, 2, 1, 1, 1, 0]


# --- objections --------------------------------------------------------------------------------


@pytest.fixture
def intake(town: Town) -> Signer:
    signer = Signer(key("intake"), town.jurisdiction)
    town.submit(town.admin, "official.enrol", enrolment(signer.key, "公众留言", "intake", "dangzheng"))
    return signer


def posted(town: Town) -> None:
    through_review(town, "GK-DIBAO-09", posting=True, day="2026-09-25")
    ends = clock("posting_period", date(2026, 9, 28)).due.isoformat()
    town.submit(town.recorder, "disclosure.post",
                step("GK-DIBAO-09", day="2026-09-28", channels=["notice_board"], posting_ends=ends))  # fmt: skip


def objection(day: str = "2026-09-30") -> dict[str, Any]:
    return step("GK-DIBAO-09", day=day, feedback_no="FB-1", kind="objection",
                text="名单中有一户家庭收入已超过低保标准")  # fmt: skip


def test_an_objection_during_the_posting_period_blocks_approval_until_answered(
    town: Town, intake: Signer, db: Database
) -> None:
    posted(town)
    town.app.submit(intake.sign("feedback.receive", objection()))
    approve = step("GK-DIBAO-09", day="2026-10-15")

    error = refusal(town, town.leader.sign("disclosure.approve", approve))
    assert type(error) is ObjectionPending
    assert "FB-1" in error.message

    town.submit(town.head, "feedback.respond",
                step("GK-DIBAO-09", day="2026-10-09", feedback_no="FB-1", text="经核查，该户收入未超标准"))  # fmt: skip
    town.submit(town.leader, "disclosure.approve", approve)
    (item,) = items(read(town, db))
    assert item["status"] == "approved"


def test_approval_waits_for_the_end_of_the_posting_period(town: Town) -> None:
    posted(town)
    error = refusal(town, town.leader.sign("disclosure.approve", step("GK-DIBAO-09", day="2026-10-09")))
    assert type(error) is WorkflowError
    assert "2026-10-13" in error.message  # 7 working days after 28 Sep, across National Day


def test_an_objection_after_the_posting_period_is_refused(town: Town, intake: Signer) -> None:
    posted(town)
    error = refusal(town, intake.sign("feedback.receive", objection(day="2026-10-14")))
    assert type(error) is WorkflowError


def test_the_intake_key_can_record_nothing_but_feedback(town: Town, intake: Signer) -> None:
    error = refusal(town, intake.sign("disclosure.draft", draft()))
    assert type(error) is WrongRole

"""The demo year's disclosure record: obligations, items and their signed steps.

Added after the money of the demo year is recorded (so report items bind to a real checkpoint of
the log): monthly 低保 payment disclosures of 社会事务办 (most on time, September late across
the National Day holiday, November still due), a preliminary 低保 list posted for objections
(公示) with one objection answered before approval, the July flood donations report published on
the notice board and the county portal and filed with 党政办, then corrected by a second item
(the N95 → KN95 更正说明), 特困 support reports, and the 2026 低保 standard as a policy document.
Every step is signed by a demo official; dates and nonces derive from the seed.
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from ledger.application import Ledger
from ledger.commands import SignedCommand, Signer
from ledger.merkle import CompactRange, event_leaf
from ledger.workdays import add_working_days, clock, is_workday

_TZ = timezone(timedelta(hours=8))
YEAR = 2026


def _log_head(app: Ledger) -> dict[str, Any]:
    """The size and root of the log as it stands (the checkpoint a report item binds to)."""
    tree = CompactRange()
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=2000)
        for n in page:
            e: Any = app.mapper.to_domain_event(n)
            tree.append(event_leaf(e.signed.encode(), base64.b64decode(e.sig), e.key_id))
        if len(page) < 2000:
            break
        start = page[-1].id + 1
    return {"size": tree.size, "root": base64.b64encode(tree.root()).decode()}


def _last_workday(year: int, month: int) -> date:
    day = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
    while not is_workday(day):
        day -= timedelta(days=1)
    return day


class _Steps:
    def __init__(self, signers: dict[str, Signer], rng: random.Random) -> None:
        self.signers = signers
        self.rng = rng
        self.commands: list[SignedCommand] = []

    def sign(self, who: str, cmd: str, body: dict[str, Any], day: date) -> None:
        at = datetime.combine(day, time(9, 0), _TZ) + timedelta(minutes=self.rng.randrange(480))
        self.commands.append(self.signers[who].sign(
            cmd, body, at=at, nonce=f"{self.rng.getrandbits(128):032x}",
            idem=f"demo-disclosure:{cmd}:{body.get('item_no') or body.get('obligation_no')}:{len(self.commands)}",
        ))  # fmt: skip

    def obligation(self, number: str, title: str, formed: date, category: str, area: str) -> None:
        rule = "social_assistance" if category in ("dibao", "tekun") else "disaster_relief"
        c = clock(rule, formed)
        self.sign("recorder", "obligation.open", {
            "obligation_no": number, "title": title, "department": "shehui", "area": area,
            "category": category, "rule": rule, "formed_on": formed.isoformat(),
            "due": c.due.isoformat(), "policy_version": c.policy_version, "calendar": c.calendar,
        }, formed)  # fmt: skip

    def item(self, number: str, title: str, kind: str, area: str, content: dict[str, Any], drafted: date,
             *, obligations: tuple[str, ...] = (), posting: bool = False, summary: str | None = None) -> None:  # fmt: skip
        body: dict[str, Any] = {"item_no": number, "title": title, "kind": kind, "area": area,
                                "department": "shehui", "content": content, "posting": posting,
                                "obligations": list(obligations), "date": drafted.isoformat()}  # fmt: skip
        if summary:
            body["summary"] = summary
        self.sign("recorder", "disclosure.draft", body, drafted)
        self.sign("recorder", "disclosure.submit", {"item_no": number, "date": drafted.isoformat()}, drafted)
        reviewed = add_working_days(drafted, 1)
        self.sign("department-head", "disclosure.review", {"item_no": number, "date": reviewed.isoformat()}, reviewed)

    def finish(self, number: str, approved: date, *, filed: bool = True) -> None:
        self.sign("leader", "disclosure.approve", {"item_no": number, "date": approved.isoformat()}, approved)
        published = add_working_days(approved, 1)
        self.sign("recorder", "disclosure.publish", {"item_no": number, "date": published.isoformat(),
                                                     "channels": ["notice_board"]}, published)  # fmt: skip
        portal = add_working_days(published, 1)
        self.sign("office-filer", "disclosure.publish", {"item_no": number, "date": portal.isoformat(),
                                                         "channels": ["county_portal", "wechat"]}, portal)  # fmt: skip
        if filed:
            self.sign("office-filer", "disclosure.file", {"item_no": number, "date": portal.isoformat()}, portal)


def demo_disclosures(app: Ledger, keys: dict[str, Any], *, seed: int = 2026, today: date | None = None) -> int:
    """Record the demo year's disclosure record; return how many commands were recorded."""
    jurisdiction = app.registry().jurisdiction
    signers = {name: Signer(keys[name], jurisdiction) for name in
               ("recorder", "department-head", "leader", "office-filer")}  # fmt: skip
    steps = _Steps(signers, random.Random(f"{seed}/disclosures"))  # noqa: S311 - demo data
    head = _log_head(app)

    def report(name: str, **params: str) -> dict[str, Any]:
        return {"type": "report", "report": name, "params": params, "checkpoint": head}

    last_month = 11 if today is None else min(11, today.month)
    for month in range(1, last_month + 1):
        formed = _last_workday(YEAR, month)
        number = f"{YEAR}-{month:02d}"
        steps.obligation(f"OB-DIBAO-{number}", f"{month}月城乡低保金发放情况", formed, "dibao", "welfare")
        if month == 11:
            continue  # formed on the last working day of November: still due
        item = f"GK-DIBAO-{number}"
        steps.item(item, f"流长镇{YEAR}年{month}月城乡低保金发放情况", "execution", "welfare",
                   report("recipients", category="dibao", period=number),
                   add_working_days(formed, 2), obligations=(f"OB-DIBAO-{number}",))  # fmt: skip
        # September's went out after the holiday, past its ten working days.
        approve_after = 12 if month == 9 else 4
        steps.finish(item, add_working_days(formed, approve_after), filed=month != 10)

    # A preliminary list of new 低保 households, posted 7 working days for objections.
    posted = date(YEAR, 9, 28)
    steps.obligation("OB-DIBAO-NEW-Q3", "第三季度新增城乡低保对象初审名单", date(YEAR, 9, 25), "dibao", "welfare")
    steps.item("GK-DIBAO-NEW-Q3", "第三季度新增城乡低保对象初审名单公示", "execution", "welfare",
               report("recipients", category="dibao", audience="village"), date(YEAR, 9, 25),
               obligations=("OB-DIBAO-NEW-Q3",), posting=True)  # fmt: skip
    ends = clock("posting_period", posted).due
    steps.sign("recorder", "disclosure.post", {"item_no": "GK-DIBAO-NEW-Q3", "date": posted.isoformat(),
                                               "channels": ["notice_board"], "posting_ends": ends.isoformat()}, posted)  # fmt: skip
    objection_day = date(YEAR, 9, 30)
    steps.sign("office-filer", "feedback.receive", {
        "item_no": "GK-DIBAO-NEW-Q3", "feedback_no": "FB-2026-0031", "kind": "objection",
        "text": "名单中马场村一户家庭有经营性收入，是否符合低保条件？", "date": objection_day.isoformat()}, objection_day)  # fmt: skip
    answered = date(YEAR, 10, 9)
    steps.sign("department-head", "feedback.respond", {
        "item_no": "GK-DIBAO-NEW-Q3", "feedback_no": "FB-2026-0031",
        "text": "经入户核查，该户经营收入按规定核算后人均收入仍低于本镇低保标准，予以保留。",
        "date": answered.isoformat()}, answered)  # fmt: skip
    steps.finish("GK-DIBAO-NEW-Q3", add_working_days(ends, 1))

    # The July flood: donations received, disclosed, then corrected.
    flood_formed = date(YEAR, 7, 31)
    steps.obligation("OB-FLOOD-07", "7·6洪涝灾害社会捐赠款物接收和使用情况", flood_formed, "disaster_relief", "disaster")
    steps.item("GK-FLOOD-2026-07", "7·6洪涝灾害社会捐赠款物接收和使用情况（第一期）", "execution", "disaster",
               report("flows", fund="F-DONATION"), date(YEAR, 8, 10), obligations=("OB-FLOOD-07",),
               summary="截至7月31日接收社会捐赠款物及其使用情况。")  # fmt: skip
    steps.finish("GK-FLOOD-2026-07", date(YEAR, 8, 13))
    corrected = date(YEAR, 8, 24)
    steps.item("GK-FLOOD-2026-07-R1", "7·6洪涝灾害社会捐赠款物接收和使用情况（第一期，更正）", "execution",
               "disaster", report("flows", fund="F-DONATION"), corrected)  # fmt: skip
    steps.finish("GK-FLOOD-2026-07-R1", add_working_days(corrected, 2))
    steps.sign("recorder", "disclosure.correct", {
        "item_no": "GK-FLOOD-2026-07", "replacement_item_no": "GK-FLOOD-2026-07-R1",
        "note": "原公布“N95口罩16000个”有误，应为“KN95口罩（GB 2626-2019）18000个”，特此更正。",
        "date": add_working_days(corrected, 4).isoformat()}, add_working_days(corrected, 4))  # fmt: skip

    # 特困 support, quarterly; and the year's 低保 standard as a policy document.
    for quarter in (1, 2, 3):
        formed = _last_workday(YEAR, quarter * 3)
        number = f"OB-TEKUN-{YEAR}-Q{quarter}"
        steps.obligation(number, f"第{quarter}季度特困人员救助供养金发放情况", formed, "tekun", "welfare")
        item = f"GK-TEKUN-{YEAR}-Q{quarter}"
        steps.item(item, f"{YEAR}年第{quarter}季度特困人员救助供养金发放情况", "execution", "welfare",
                   report("flows", fund="F-TEKUN"), add_working_days(formed, 3), obligations=(number,))  # fmt: skip
        steps.finish(item, add_working_days(formed, 6))
    standard = "流长镇2026年城乡最低生活保障标准：农村每人每月不低于 ¥620，城市每人每月不低于 ¥850。\n".encode()
    steps.item("GK-DIBAO-STANDARD-2026", "流长镇2026年城乡低保标准", "decision", "welfare",
               {"type": "document", "doc_kind": "standard", "files": [{
                   "name": "2026年城乡低保标准.txt", "sha256": hashlib.sha256(standard).hexdigest(),
                   "size": len(standard)}]}, date(YEAR, 1, 12))  # fmt: skip
    steps.finish("GK-DIBAO-STANDARD-2026", date(YEAR, 1, 15))

    app.submit_batch(steps.commands)
    return len(steps.commands)

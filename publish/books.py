"""Everything the portal shows, read once from read models rebuilt as of one checkpoint.

``Stamp`` is the checkpoint a site is built from (origin, tree size, root) and the log's own
time at that point: the signed time of the checkpoint's last event. It is the portal's only
clock — deadlines are judged as of that day — so the same checkpoint always gives the same
site. ``read_books`` gathers the fund-flow report (all time, and per focus area), the goods
ledger, the published disclosure items with their trails and feedback, the deadline record and
the donations (their traces are read by ``publish.site``, only those it renders). Drafts and items that were never published are never read.
Only public-part fields exist in these read models; nothing here decrypts anything.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from projections import deadlines
from projections.balances import officials
from projections.reports import Scope, area_reports, goods_ledger
from projections.sql import Database
from projections.trace_report import donation_records
from publish.apart import Apart

PUBLISHED = ("published", "filed", "corrected")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Stamp:
    """The checkpoint a site is built from, and the log's time at it (ISO 8601, from the log)."""

    jurisdiction: str
    origin: str
    size: int
    root: bytes
    log_time: str

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root).decode()

    @property
    def day(self) -> date:
        return date.fromisoformat(self.log_time[:10])

    def to_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "size": self.size, "root": self.root_b64}


@dataclass(frozen=True, slots=True)
class Books:
    report: dict[str, Any]
    by_area: dict[str, dict[str, Any]]
    goods: dict[str, Any]
    links: list[dict[str, Any]]  # money flows between accounts, for the Sankey diagram
    accounts: dict[str, dict[str, Any]]  # "fund:CODE" / "program:CODE" / "store:CODE" -> details
    items: list[dict[str, Any]]
    obligations: list[dict[str, Any]]
    dashboard: list[dict[str, Any]]
    donations: dict[str, int]  # receipt number -> net money amount (fen), money donations only
    # receipt number -> the donation's record as its trace shows it (``trace["donation"]``), and
    # the digest of a summary of all its trace is made of (``donation_records``: equal
    # summaries, equal traces)
    records: dict[str, dict[str, Any]]
    summaries: dict[str, str]


def read_books(db: Database, today: date) -> Books:
    """Everything the portal shows; the fund-flow reports and the donations' records (the
    longest parts) are read by forked processes meanwhile, each over a connection of its own."""

    def apart(read: Callable[[Database], R]) -> Callable[[], R]:
        def run() -> R:
            own = Database(db.url)  # a connection is never used across a fork
            try:
                return read(own)
            finally:
                own.close()

        return run

    with (Apart("fork", apart(lambda own: area_reports(own, Scope()))) as reports_job,
          Apart("fork", apart(donation_records)) as records_job):  # fmt: skip
        goods = goods_ledger(db, Scope())
        accounts, items = _accounts(db), _items(db)
        obligations = _obligations(db, today)
        dashboard = deadlines.dashboard(deadlines.obligations(db), today)
        donations = _donations(db)
        reports, found = reports_job.result(), records_job.result()
    return Books(
        report=reports.whole,
        by_area=reports.by_area,
        goods=goods,
        links=reports.links,
        accounts=accounts,
        items=items,
        obligations=obligations,
        dashboard=dashboard,
        donations=donations,
        records={receipt: record for receipt, (record, _) in found.items()},
        summaries={receipt: summary for receipt, (_, summary) in found.items()},
    )


def _accounts(db: Database) -> dict[str, dict[str, Any]]:
    rows = db.query(
        "SELECT kind, code, name, area, category, department, restricted FROM gk_flow_accounts "
        "ORDER BY kind, code"
    )
    return {f"{r[0]}:{r[1]}": {"kind": r[0], "code": r[1], "name": r[2], "area": r[3],
                               "category": r[4], "department": r[5], "restricted": bool(r[6])}
            for r in rows}  # fmt: skip


def _donations(db: Database) -> dict[str, int]:
    rows = db.query(
        "SELECT receipt_no, SUM(amount) FROM gk_flows WHERE kind = 'donation' AND quantity = 0 "
        "AND fund IS NOT NULL AND receipt_no IS NOT NULL GROUP BY receipt_no ORDER BY receipt_no"
    )
    return {str(r[0]): int(r[1]) for r in rows}


def _items(db: Database) -> list[dict[str, Any]]:
    """Published items (never drafts), each with its trail and its feedback and responses."""
    roles = {o["key_id"]: o for o in officials(db)}
    found = []
    for item in deadlines.items(db):
        if item["status"] not in PUBLISHED:
            continue
        trail = deadlines.trail(db, item["item_no"])
        for step in trail:
            official = roles.get(step["key_id"], {})
            step["role"] = official.get("role")
            step["department"] = official.get("department")
        feedback = db.query(
            "SELECT feedback_no, kind, text, received_on, response, responded_on FROM gk_feedback "
            "WHERE item_no = ? ORDER BY received_on, feedback_no",
            (item["item_no"],),
        )
        keys = ("feedback_no", "kind", "text", "received_on", "response", "responded_on")
        content = db.query("SELECT content, summary FROM gk_disclosures WHERE item_no = ?",
                           (item["item_no"],))[0]  # fmt: skip
        found.append(dict(item, trail=trail, content=json.loads(content[0]), summary=content[1],
                          feedback=[dict(zip(keys, f, strict=True)) for f in feedback]))  # fmt: skip
    found.sort(key=lambda i: (i["published_on"] or "", i["item_no"]))
    return found


def _obligations(db: Database, today: date) -> list[dict[str, Any]]:
    return [{"obligation_no": r.obligation_no, "title": r.title, "department": r.department,
             "area": r.area, "rule": r.rule, "formed_on": r.formed_on, "due": r.due,
             "published_on": r.published_on, "item_no": r.item_no, "state": r.state(today),
             "working_days": r.working_days_to_publish()}
            for r in deadlines.obligations(db)]  # fmt: skip

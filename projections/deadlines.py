"""The disclosure read model: items, their trail, obligations and the supervision dashboard.

``gk_disclosures`` holds each item's current state and the day of each step; ``gk_trail`` every
signed step (who, what, when) for the review/approval trail; ``gk_feedback`` public feedback and
responses (never contact details: those are sealed); ``gk_obligations`` every legal clock and the
day the first published item that names it was published. The dashboard and the annual
scorecard are queries over these: published on time %, overdue, done late, median working days
from formation to publication, per department and focus area.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.commands import read_payload
from ledger.workdays import working_days_between
from projections.sql import Database

_STEP_STATUS = {
    "disclosure.submit": "submitted", "disclosure.review": "reviewed", "disclosure.post": "posted",
    "disclosure.approve": "approved", "disclosure.publish": "published",
    "disclosure.file": "filed", "disclosure.correct": "corrected", "disclosure.withdraw": "withdrawn",
}  # fmt: skip


class DisclosureProjection:
    name = "disclosure"
    tables = ("gk_disclosures", "gk_trail", "gk_feedback", "gk_obligations", "gk_item_obligations")

    def create(self, cursor: Any, dialect: str) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_disclosures (item_no TEXT PRIMARY KEY, title TEXT NOT NULL, "
            "kind TEXT NOT NULL, area TEXT NOT NULL, department TEXT NOT NULL, status TEXT NOT NULL, "
            "posting INTEGER NOT NULL, content TEXT NOT NULL, summary TEXT, drafted_on TEXT NOT NULL, "
            "reviewed_on TEXT, posted_on TEXT, posting_ends TEXT, approved_on TEXT, "
            "published_on TEXT, filed_on TEXT, channels TEXT NOT NULL, corrected_by TEXT, "
            "corrects TEXT, note TEXT, position BIGINT NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_trail (item_no TEXT NOT NULL, position BIGINT NOT NULL, "
            "step TEXT NOT NULL, day TEXT NOT NULL, at TEXT NOT NULL, key_id TEXT NOT NULL, "
            "detail TEXT, PRIMARY KEY (item_no, position))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_feedback (item_no TEXT NOT NULL, feedback_no TEXT NOT NULL, "
            "kind TEXT NOT NULL, text TEXT NOT NULL, received_on TEXT NOT NULL, response TEXT, "
            "responded_on TEXT, PRIMARY KEY (item_no, feedback_no))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_obligations (obligation_no TEXT PRIMARY KEY, "
            "title TEXT NOT NULL, department TEXT NOT NULL, area TEXT NOT NULL, category TEXT, "
            "rule TEXT NOT NULL, formed_on TEXT NOT NULL, due TEXT NOT NULL, "
            "policy_version TEXT NOT NULL, calendar TEXT NOT NULL, item_no TEXT, published_on TEXT)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_item_obligations (item_no TEXT NOT NULL, "
            "obligation_no TEXT NOT NULL, PRIMARY KEY (item_no, obligation_no))"
        )

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        signed = getattr(event, "signed", None)
        if signed is None:  # pragma: no cover
            return
        payload = read_payload(signed)
        cmd, body = payload["cmd"], payload["body"]
        if cmd == "obligation.open":
            cursor.execute(
                "INSERT INTO gk_obligations (obligation_no, title, department, area, category, rule, "
                "formed_on, due, policy_version, calendar) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (body["obligation_no"], body["title"], body["department"], body["area"],
                 body.get("category"), body["rule"], body["formed_on"], body["due"],
                 body["policy_version"], body["calendar"]),
            )  # fmt: skip
            return
        if not (cmd.startswith("disclosure.") or cmd.startswith("feedback.")):
            return
        item = body["item_no"]
        day = body["date"]
        if cmd == "disclosure.draft":
            cursor.execute(
                "INSERT INTO gk_disclosures (item_no, title, kind, area, department, status, posting, "
                "content, summary, drafted_on, channels, position) "
                "VALUES (?, ?, ?, ?, ?, 'drafted', ?, ?, ?, ?, '[]', ?)",
                (item, body["title"], body["kind"], body["area"], body["department"],
                 1 if body.get("posting") else 0, json.dumps(body["content"], ensure_ascii=False),
                 body.get("summary"), day, position),
            )  # fmt: skip
            for number in body.get("obligations", []):
                cursor.execute(
                    "INSERT INTO gk_item_obligations (item_no, obligation_no) VALUES (?, ?)",
                    (item, number),
                )
        elif cmd in _STEP_STATUS:
            self._step(cursor, cmd, body, item, day)
        elif cmd == "feedback.receive":
            cursor.execute(
                "INSERT INTO gk_feedback (item_no, feedback_no, kind, text, received_on) "
                "VALUES (?, ?, ?, ?, ?)",
                (item, body["feedback_no"], body["kind"], body["text"], day),
            )
        elif cmd == "feedback.respond":
            cursor.execute(
                "UPDATE gk_feedback SET response = ?, responded_on = ? "
                "WHERE item_no = ? AND feedback_no = ?",
                (body["text"], day, item, body["feedback_no"]),
            )
        detail = {k: v for k, v in body.items() if k not in ("item_no", "date", "content")}
        cursor.execute(
            "INSERT INTO gk_trail (item_no, position, step, day, at, key_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (item, position, cmd, day, payload["at"], payload["by"],
             json.dumps(detail, ensure_ascii=False, sort_keys=True)),
        )  # fmt: skip

    def _step(self, cursor: Any, cmd: str, body: dict[str, Any], item: str, day: str) -> None:
        status = _STEP_STATUS[cmd]
        if cmd == "disclosure.publish":
            cursor.execute("SELECT channels, status FROM gk_disclosures WHERE item_no = ?", (item,))
            row = cursor.fetchone()
            channels = json.loads(row[0])
            channels += [c for c in body["channels"] if c not in channels]
            cursor.execute(
                "UPDATE gk_disclosures SET status = ?, channels = ?, "
                "published_on = COALESCE(published_on, ?) WHERE item_no = ?",
                ("filed" if row[1] == "filed" else "published", json.dumps(channels), day, item),
            )
            # The first publication of an item discharges the obligations it names.
            cursor.execute(
                "UPDATE gk_obligations SET published_on = ?, item_no = ? WHERE published_on IS NULL "
                "AND obligation_no IN (SELECT obligation_no FROM gk_item_obligations WHERE item_no = ?)",
                (day, item, item),
            )
            return
        column = {"submitted": None, "reviewed": "reviewed_on", "posted": "posted_on",
                  "approved": "approved_on", "filed": "filed_on"}.get(status)  # fmt: skip
        if column:
            cursor.execute(
                f"UPDATE gk_disclosures SET status = ?, {column} = ? WHERE item_no = ?",
                (status, day, item),
            )
        else:
            cursor.execute("UPDATE gk_disclosures SET status = ? WHERE item_no = ?", (status, item))
        if cmd == "disclosure.post":
            cursor.execute(
                "UPDATE gk_disclosures SET posting_ends = ? WHERE item_no = ?",
                (body["posting_ends"], item),
            )
        if cmd == "disclosure.correct":
            cursor.execute(
                "UPDATE gk_disclosures SET corrected_by = ?, note = ? WHERE item_no = ?",
                (body["replacement_item_no"], body["note"], item),
            )
            cursor.execute(
                "UPDATE gk_disclosures SET corrects = ?, note = ? WHERE item_no = ?",
                (item, body["note"], body["replacement_item_no"]),
            )


@dataclass(frozen=True, slots=True)
class ObligationRow:
    obligation_no: str
    title: str
    department: str
    area: str
    rule: str
    formed_on: str
    due: str
    item_no: str | None
    published_on: str | None

    def state(self, today: date) -> str:
        if self.published_on is None:
            return "overdue" if today.isoformat() > self.due else "due"
        return "late" if self.published_on > self.due else "on_time"

    def working_days_to_publish(self) -> int | None:
        if self.published_on is None:
            return None
        return working_days_between(
            date.fromisoformat(self.formed_on), date.fromisoformat(self.published_on)
        )


def obligations(db: Database, *, year: int | None = None) -> list[ObligationRow]:
    sql = (
        "SELECT obligation_no, title, department, area, rule, formed_on, due, item_no, published_on "
        "FROM gk_obligations"
    )
    params: tuple[str, ...] = ()
    if year is not None:
        sql += " WHERE formed_on >= ? AND formed_on <= ?"
        params = (f"{year}-01-01", f"{year}-12-31")
    return [ObligationRow(*r) for r in db.query(sql + " ORDER BY due, obligation_no", params)]


def dashboard(rows: list[ObligationRow], today: date) -> list[dict[str, Any]]:
    """Per department and focus area: on-time %, overdue, late, median working days."""
    groups: dict[tuple[str, str], list[ObligationRow]] = {}
    for row in rows:
        groups.setdefault((row.department, row.area), []).append(row)
    out = []
    for (department, area), members in sorted(groups.items()):
        states = [m.state(today) for m in members]
        published = [m for m in members if m.published_on is not None]
        days = [d for m in published if (d := m.working_days_to_publish()) is not None]
        out.append({
            "department": department,
            "area": area,
            "obligations": len(members),
            "published": len(published),
            "on_time": states.count("on_time"),
            "late": states.count("late"),
            "overdue": states.count("overdue"),
            "due": states.count("due"),
            "on_time_percent": round(100 * states.count("on_time") / len(published), 1)
            if published else None,
            "median_working_days": median(days) if days else None,
        })  # fmt: skip
    return out


def items(db: Database) -> list[dict[str, Any]]:
    keys = ("item_no", "title", "kind", "area", "department", "status", "posting", "drafted_on",
            "reviewed_on", "posted_on", "posting_ends", "approved_on", "published_on", "filed_on",
            "channels", "corrected_by", "corrects", "note")  # fmt: skip
    rows = db.query(f"SELECT {', '.join(keys)} FROM gk_disclosures ORDER BY drafted_on, item_no")
    out = []
    for r in rows:
        data = dict(zip(keys, r, strict=True))
        data["channels"] = json.loads(data["channels"])
        data["posting"] = bool(data["posting"])
        out.append(data)
    return out


def trail(db: Database, item_no: str) -> list[dict[str, Any]]:
    officials = dict(db.query("SELECT key_id, name FROM gk_officials"))
    rows = db.query(
        "SELECT step, day, at, key_id, detail FROM gk_trail WHERE item_no = ? ORDER BY position",
        (item_no,),
    )
    return [{"step": r[0], "date": r[1], "at": r[2], "key_id": r[3], "official": officials.get(r[3]),
             "detail": json.loads(r[4]) if r[4] else {}} for r in rows]  # fmt: skip

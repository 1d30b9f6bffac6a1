"""Reports as folds over the flows read model: the fund-flow report and the goods ledger.

A report covers a period (``start``..``end``, inclusive; open ends allowed) and a scope (all, one
focus area, or one fund). Money is integer fen throughout.

The **fund-flow report** follows the boundary of UN OCHA FTS. For the scope it gives sources
(donors by class, governments by level), pledges (never counted), funds (opening idle, received,
transfers, allocated, closing idle), programs (opening idle, allocated, disbursed, closing idle),
payments to recipients by village and relief category (protected recipients only as one withheld
line), goods, and the flows that cross the scope's boundary (a transfer from a fund outside the
scope, an allocation to a program outside it). It always reconciles:

    per fund:     opening + received + transfers in   = allocated + transfers out + idle
    per program:  opening + allocated                 = disbursed + idle
    scope:        opening idle + incoming + crossing in = outgoing + crossing out + closing idle

Idle means received and not yet used, at the end of the period.
The **goods ledger** gives, per store and (item, grade, unit): received, issued, in store, and
every issue with its date, its destination (an institution, or a pseudonymous recipient) and the
official who approved it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger.catalogue import AREAS, CATEGORIES, DONOR_CLASSES
from projections.sql import Database

FAR_PAST = "0000-00-00"
FAR_FUTURE = "9999-99-99"


@dataclass(frozen=True, slots=True)
class Scope:
    start: date | None = None
    end: date | None = None
    area: str | None = None
    fund: str | None = None

    @property
    def first(self) -> str:
        return self.start.isoformat() if self.start else FAR_PAST

    @property
    def last(self) -> str:
        return self.end.isoformat() if self.end else FAR_FUTURE

    def describe(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "area": self.area,
            "area_label": AREAS.get(self.area or ""),
            "fund": self.fund,
        }


def _accounts(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    rows = db.query(
        "SELECT kind, code, name, area, category, department, restricted FROM gk_flow_accounts"
    )
    return {
        (r[0], r[1]): {"kind": r[0], "code": r[1], "name": r[2], "area": r[3], "category": r[4],
                       "department": r[5], "restricted": bool(r[6])}
        for r in rows
    }  # fmt: skip


def _key(text: str) -> tuple[str, str]:
    kind, _, code = text.partition(":")
    return kind, code


def flow_report(db: Database, scope: Scope) -> dict[str, Any]:
    accounts = _accounts(db)
    money = db.query(
        "SELECT kind, source, dest, "
        "SUM(CASE WHEN day < ? THEN amount ELSE 0 END), "
        "SUM(CASE WHEN day >= ? THEN amount ELSE 0 END) "
        "FROM gk_flows WHERE day <= ? AND quantity = 0 AND kind <> 'pledge' "
        "GROUP BY kind, source, dest",
        (scope.first, scope.first, scope.last),
    )
    # Which accounts are in scope.
    if scope.fund is not None:
        funds = {("fund", scope.fund)}
        fed = {_key(d) for k, s, d, _, _ in money if k == "allocation" and _key(s) in funds}
        in_scope = funds | fed
    else:
        in_scope = {
            key for key, a in accounts.items()
            if key[0] in ("fund", "program") and (scope.area is None or a["area"] == scope.area)
        }  # fmt: skip
    figures: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    crossing = {"in": 0, "out": 0}
    incoming = outgoing = 0
    for kind, source, dest, before_sum, during_sum in money:
        before, during = int(before_sum or 0), int(during_sum or 0)
        src, dst = _key(source), _key(dest)
        if dst in in_scope:
            figures[dst]["opening"] += before
            column = {"donation": "received", "appropriation": "received", "transfer": "transfers_in",
                      "allocation": "allocated"}.get(kind)  # fmt: skip
            if column:
                figures[dst][column] += during
        if src in in_scope:
            figures[src]["opening"] -= before
            column = {"transfer": "transfers_out", "allocation": "allocated",
                      "disbursement": "disbursed"}.get(kind)  # fmt: skip
            if column:
                figures[src][column] += during
        if kind in ("donation", "appropriation") and dst in in_scope:
            incoming += during
        if kind == "disbursement" and src in in_scope:
            outgoing += during
        if kind in ("transfer", "allocation"):
            if dst in in_scope and src not in in_scope:
                crossing["in"] += during
            if src in in_scope and dst not in in_scope:
                crossing["out"] += during
    fund_rows, program_rows = [], []
    for key in sorted(in_scope):
        a = accounts.get(key, {"name": key[1], "area": None, "category": None, "restricted": False})
        f = figures[key]
        if key[0] == "fund":
            idle = f["opening"] + f["received"] + f["transfers_in"] - f["transfers_out"] - f["allocated"]
            fund_rows.append({"code": key[1], "name": a["name"], "area": a["area"],
                              "category": a["category"], "restricted": a["restricted"],
                              "opening_idle": f["opening"], "received": f["received"],
                              "transfers_in": f["transfers_in"], "transfers_out": f["transfers_out"],
                              "allocated": f["allocated"], "idle": idle})  # fmt: skip
        else:
            idle = f["opening"] + f["allocated"] - f["disbursed"]
            program_rows.append({"code": key[1], "name": a["name"], "area": a["area"],
                                 "category": a["category"], "opening_idle": f["opening"],
                                 "allocated": f["allocated"], "disbursed": f["disbursed"],
                                 "idle": idle})  # fmt: skip
    idle_total = sum(r["idle"] for r in fund_rows) + sum(r["idle"] for r in program_rows)
    opening_total = sum(figures[key]["opening"] for key in in_scope)
    report: dict[str, Any] = {
        "scope": scope.describe(),
        "sources": _sources(db, scope, {k[1] for k in in_scope if k[0] == "fund"}),
        "pledged": _pledged(db, scope, {k[1] for k in in_scope if k[0] == "fund"}),
        "funds": fund_rows,
        "programs": program_rows,
        "recipients": _recipients(db, scope, {k[1] for k in in_scope if k[0] == "program"}),
        "goods": goods_totals(db, scope),
        "totals": {
            "opening_idle": opening_total,
            "incoming": incoming,
            "crossing_in": crossing["in"],
            "outgoing": outgoing,
            "crossing_out": crossing["out"],
            "idle": idle_total,
        },
    }
    t = report["totals"]
    t["reconciles"] = (
        t["opening_idle"] + t["incoming"] + t["crossing_in"]
        == t["outgoing"] + t["crossing_out"] + t["idle"]
    )
    return report


def _in(column: str, values: set[str]) -> tuple[str, list[str]]:
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join('?' for _ in values)})", sorted(values)


def _sources(db: Database, scope: Scope, funds: set[str]) -> dict[str, Any]:
    where, params = _in("fund", funds)
    rows = db.query(
        "SELECT kind, donor_class, level, SUM(amount), COUNT(DISTINCT receipt_no) FROM gk_flows "
        f"WHERE boundary = 'incoming' AND quantity = 0 AND day >= ? AND day <= ? AND {where} "
        "GROUP BY kind, donor_class, level ORDER BY kind, donor_class, level",
        (scope.first, scope.last, *params),
    )
    donors = [{"donor_class": r[1], "label": DONOR_CLASSES[r[1]], "amount": int(r[3]),
               "donations": int(r[4])} for r in rows if r[0] == "donation"]  # fmt: skip
    governments = [{"level": r[2], "amount": int(r[3])} for r in rows if r[0] == "appropriation"]
    return {"donors": donors, "governments": governments,
            "total": sum(d["amount"] for d in donors) + sum(g["amount"] for g in governments)}  # fmt: skip


def _pledged(db: Database, scope: Scope, funds: set[str]) -> dict[str, Any]:
    where, params = _in("fund", funds)
    rows = db.query(
        "SELECT donor_class, SUM(amount) FROM gk_flows WHERE kind = 'pledge' AND day >= ? "
        f"AND day <= ? AND {where} GROUP BY donor_class ORDER BY donor_class",
        (scope.first, scope.last, *params),
    )
    by_class = [{"donor_class": r[0], "amount": int(r[1])} for r in rows]
    return {"by_class": by_class, "total": sum(r["amount"] for r in by_class), "counted": False}


def _recipients(db: Database, scope: Scope, programs: set[str]) -> dict[str, Any]:
    where, params = _in("program", programs)
    rows = db.query(
        "SELECT village, category, protected, SUM(amount), "
        "SUM(CASE WHEN amount > 0 THEN 1 ELSE -1 END), COUNT(DISTINCT recipient) FROM gk_flows "
        f"WHERE kind = 'disbursement' AND day >= ? AND day <= ? AND {where} "
        "GROUP BY village, category, protected ORDER BY village, category",
        (scope.first, scope.last, *params),
    )
    groups, withheld = [], {"payments": 0, "amount": 0}
    for village, category, protected, amount, payments, recipients in rows:
        if protected:
            withheld["payments"] += int(payments)
            withheld["amount"] += int(amount)
            continue
        groups.append({"village": village, "category": category,
                       "category_label": CATEGORIES[category][1] if category else None,
                       "payments": int(payments), "recipients": int(recipients),
                       "amount": int(amount)})  # fmt: skip
    return {"groups": groups, "withheld": withheld,
            "total": sum(g["amount"] for g in groups) + withheld["amount"]}  # fmt: skip


def goods_totals(db: Database, scope: Scope) -> list[dict[str, Any]]:
    area = "" if scope.area is None else " AND area = ?"
    rows = db.query(
        "SELECT store, item, grade, unit, "
        "SUM(CASE WHEN boundary = 'incoming' AND day >= ? THEN quantity ELSE 0 END), "
        "SUM(CASE WHEN boundary = 'outgoing' AND day >= ? THEN quantity ELSE 0 END), "
        "SUM(CASE WHEN boundary = 'incoming' THEN quantity ELSE -quantity END) "
        f"FROM gk_flows WHERE quantity <> 0 AND day <= ?{area} "
        "GROUP BY store, item, grade, unit ORDER BY store, item, grade, unit",
        (scope.first, scope.first, scope.last, *([scope.area] if scope.area else [])),
    )
    return [{"store": r[0], "item": r[1], "grade": r[2], "unit": r[3], "received": int(r[4]),
             "issued": int(r[5]), "in_store": int(r[6])} for r in rows]  # fmt: skip


def goods_ledger(db: Database, scope: Scope) -> dict[str, Any]:
    """Goods per store and kind, and every issue with its destination and approver."""
    officials = dict(db.query("SELECT key_id, name FROM gk_officials"))
    issues = db.query(
        "SELECT day, store, item, grade, unit, quantity, institution, recipient, category, "
        "approved_by, recorded_by, correction FROM gk_flows WHERE kind = 'goods_issue' "
        "AND day >= ? AND day <= ? ORDER BY position, seq",
        (scope.first, scope.last),
    )
    return {
        "scope": scope.describe(),
        "goods": goods_totals(db, scope),
        "issues": [{"date": r[0], "store": r[1], "item": r[2], "grade": r[3], "unit": r[4],
                    "quantity": int(r[5]), "institution": r[6], "recipient": r[7],
                    "category": r[8], "approved_by": r[9],
                    "approved_by_name": officials.get(r[9]), "recorded_by": r[10],
                    "recorded_by_name": officials.get(r[10]), "correction": bool(r[11])}
                   for r in issues],
    }  # fmt: skip

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from ledger.catalogue import AREAS, CATEGORIES, DONOR_CLASSES
from projections.flow_sums import RAW, Source, people, receipts, summarised
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
    src = _source(db, scope)
    return _report(db, scope, _accounts(db), _money(db, scope, src), None, src)


def _source(db: Database, scope: Scope) -> Source:
    """The kept running totals (``projections.flow_sums``) where they serve, else the raw rows."""
    return summarised(db, dated=scope.start is not None or scope.end is not None)


class AreaReports(NamedTuple):
    whole: dict[str, Any]  # flow_report of the scope
    by_area: dict[str, dict[str, Any]]  # flow_report of the scope narrowed to each focus area
    links: list[dict[str, Any]]  # net money per (kind, source, destination) in the scope's period


def area_reports(db: Database, scope: Scope) -> AreaReports:
    """``flow_report`` of ``scope``, and of it narrowed to each focus area in turn, all at once:
    the money moved is read once, and each other part of the areas' reports with one query
    grouped by area, instead of five full scans of the flows per report (the portal shows
    all six). With it, the net money between each two accounts (pledges never counted), for
    the Sankey diagram."""
    src = _source(db, scope)
    accounts, money = _accounts(db), _money(db, scope, src)
    parts = _AreaParts(db, scope, src)
    by_area = {area: _report(db, Scope(scope.start, scope.end, area=area), accounts, money, parts, src)
               for area in AREAS}  # fmt: skip
    links = sorted((str(k), str(s), str(d), int(during or 0)) for k, s, d, _, during in money)
    return AreaReports(
        _report(db, scope, accounts, money, None, src),
        by_area,
        [{"kind": k, "source": s, "dest": d, "amount": amount} for k, s, d, amount in links if amount],
    )


def _money(db: Database, scope: Scope, src: Source = RAW) -> list[tuple[Any, ...]]:
    return db.query(
        "SELECT kind, source, dest, "
        "SUM(CASE WHEN day < ? THEN amount ELSE 0 END), "
        "SUM(CASE WHEN day >= ? THEN amount ELSE 0 END) "
        f"FROM {src.table} WHERE day <= ? AND {src.money} AND kind <> 'pledge' "
        "GROUP BY kind, source, dest",
        (scope.first, scope.first, scope.last),
    )


class _AreaParts:
    """The sources, pledges, payments and goods of every focus area, each read in one query."""

    def __init__(self, db: Database, scope: Scope, src: Source = RAW) -> None:
        period = (scope.first, scope.last)
        by_fund = "JOIN gk_flow_accounts a ON a.kind = 'fund' AND a.code = f.fund"
        self.sources = _split(_with_distinct(
            db, src, "f.receipt_no", lambda: receipts(db, "a.area, r.kind, r.donor_class, r.level"),
            "SELECT a.area, f.kind, f.donor_class, f.level, SUM(f.amount){distinct} "
            f"FROM {src.table} f {by_fund} WHERE f.boundary = 'incoming' AND f.{src.money} AND f.day >= ? "
            "AND f.day <= ? GROUP BY a.area, f.kind, f.donor_class, f.level "
            "ORDER BY a.area, f.kind, f.donor_class, f.level", period))  # fmt: skip
        self.pledged = _split(db.query(
            f"SELECT a.area, f.donor_class, SUM(f.amount) FROM {src.table} f {by_fund} WHERE f.kind = 'pledge' "
            "AND f.day >= ? AND f.day <= ? GROUP BY a.area, f.donor_class ORDER BY a.area, f.donor_class",
            period))  # fmt: skip
        self.recipients = _split(_with_distinct(
            db, src, "f.recipient", lambda: people(db, "a.area, p.village, a.category, p.protected"),
            f"SELECT a.area, f.village, f.category, f.protected, SUM(f.amount), {src.signs}{{distinct}} "
            f"FROM {src.table} f JOIN gk_flow_accounts a ON a.kind = 'program' AND a.code = f.program "
            "WHERE f.kind = 'disbursement' AND f.day >= ? AND f.day <= ? "
            "GROUP BY a.area, f.village, f.category, f.protected ORDER BY a.area, f.village, f.category",
            period))  # fmt: skip
        self.goods = _split(db.query(
            f"SELECT area, {_GOODS_COLUMNS} FROM {src.table} WHERE {src.goods} AND day <= ? AND area IS NOT NULL "
            "GROUP BY area, store, item, grade, unit ORDER BY area, store, item, grade, unit",
            (scope.first, scope.first, scope.last)))  # fmt: skip


def _with_distinct(db: Database, src: Source, counted: str, kept: Callable[[], dict[tuple[Any, ...], int]],
                   sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:  # fmt: skip
    """The rows of a grouped query whose last column is a distinct count of ``counted``
    (``{distinct}`` in ``sql`` marks where): counted by the database over the raw rows, or,
    over the sums, appended from the sets kept for it (``kept()``, ``projections.flow_sums``)."""
    if not src.summed:
        return db.query(sql.replace("{distinct}", f", COUNT(DISTINCT {counted})"), tuple(params))
    return _counted(db.query(sql.replace("{distinct}", ""), tuple(params)), kept())


def _counted(rows: list[tuple[Any, ...]], counts: dict[tuple[Any, ...], int]) -> list[tuple[Any, ...]]:
    """Summed rows, each with its group's distinct count appended (the group: the columns
    before the sums, as many as ``counts``' keys have; no entry: none counted)."""
    width = len(next(iter(counts))) if counts else 0
    return [(*row, counts.get(tuple(row[:width]), 0)) for row in rows]


def _split(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows whose first column is an area, by area (in their order), without that column."""
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        found[row[0]].append(row[1:])
    return found


def _report(db: Database, scope: Scope, accounts: dict[tuple[str, str], dict[str, Any]],
            money: list[tuple[Any, ...]], parts: _AreaParts | None, table: Source = RAW) -> dict[str, Any]:  # fmt: skip
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
    fund_codes = {k[1] for k in in_scope if k[0] == "fund"}
    program_codes = {k[1] for k in in_scope if k[0] == "program"}
    area = scope.area or ""
    report: dict[str, Any] = {
        "scope": scope.describe(),
        "sources": _sources(parts.sources[area] if parts else _sources_rows(db, scope, fund_codes, table)),
        "pledged": _pledged(parts.pledged[area] if parts else _pledged_rows(db, scope, fund_codes, table)),
        "funds": fund_rows,
        "programs": program_rows,
        "recipients": _recipients(parts.recipients[area] if parts
                                  else _recipients_rows(db, scope, program_codes, table)),
        "goods": _goods(parts.goods[area] if parts else _goods_rows(db, scope, table)),
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


def _sources_rows(db: Database, scope: Scope, funds: set[str], src: Source = RAW) -> list[tuple[Any, ...]]:
    where, params = _in("fund", funds)
    kept_where, kept_params = _in("r.fund", funds)
    return _with_distinct(
        db, src, "receipt_no", lambda: receipts(db, "r.kind, r.donor_class, r.level", f"WHERE {kept_where}",
                                                tuple(kept_params)),
        "SELECT kind, donor_class, level, SUM(amount){distinct} "
        f"FROM {src.table} WHERE boundary = 'incoming' AND {src.money} AND day >= ? AND day <= ? AND {where} "
        "GROUP BY kind, donor_class, level ORDER BY kind, donor_class, level",
        (scope.first, scope.last, *params),
    )  # fmt: skip


def _sources(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    donors = [{"donor_class": r[1], "label": DONOR_CLASSES[r[1]], "amount": int(r[3]),
               "donations": int(r[4])} for r in rows if r[0] == "donation"]  # fmt: skip
    governments = [{"level": r[2], "amount": int(r[3])} for r in rows if r[0] == "appropriation"]
    return {"donors": donors, "governments": governments,
            "total": sum(d["amount"] for d in donors) + sum(g["amount"] for g in governments)}  # fmt: skip


def _pledged_rows(db: Database, scope: Scope, funds: set[str], src: Source = RAW) -> list[tuple[Any, ...]]:
    where, params = _in("fund", funds)
    return db.query(
        f"SELECT donor_class, SUM(amount) FROM {src.table} WHERE kind = 'pledge' AND day >= ? "
        f"AND day <= ? AND {where} GROUP BY donor_class ORDER BY donor_class",
        (scope.first, scope.last, *params),
    )


def _pledged(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    by_class = [{"donor_class": r[0], "amount": int(r[1])} for r in rows]
    return {"by_class": by_class, "total": sum(r["amount"] for r in by_class), "counted": False}


def _recipients_rows(db: Database, scope: Scope, programs: set[str], src: Source = RAW) -> list[tuple[Any, ...]]:
    where, params = _in("program", programs)
    kept_where, kept_params = _in("p.program", programs)
    return _with_distinct(
        db, src, "recipient", lambda: people(db, "p.village, a.category, p.protected", f"WHERE {kept_where}",
                                             tuple(kept_params)),
        f"SELECT village, category, protected, SUM(amount), {src.signs}{{distinct}} FROM {src.table} "
        f"WHERE kind = 'disbursement' AND day >= ? AND day <= ? AND {where} "
        "GROUP BY village, category, protected ORDER BY village, category",
        (scope.first, scope.last, *params),
    )  # fmt: skip


def _recipients(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
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


_GOODS_COLUMNS = (
    "store, item, grade, unit, "
    "SUM(CASE WHEN boundary = 'incoming' AND day >= ? THEN quantity ELSE 0 END), "
    "SUM(CASE WHEN boundary = 'outgoing' AND day >= ? THEN quantity ELSE 0 END), "
    "SUM(CASE WHEN boundary = 'incoming' THEN quantity ELSE -quantity END)"
)


def _goods_rows(db: Database, scope: Scope, src: Source = RAW) -> list[tuple[Any, ...]]:
    area = "" if scope.area is None else " AND area = ?"
    return db.query(
        f"SELECT {_GOODS_COLUMNS} FROM {src.table} WHERE {src.goods} AND day <= ?{area} "
        "GROUP BY store, item, grade, unit ORDER BY store, item, grade, unit",
        (scope.first, scope.first, scope.last, *([scope.area] if scope.area else [])),
    )


def _goods(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [{"store": r[0], "item": r[1], "grade": r[2], "unit": r[3], "received": int(r[4]),
             "issued": int(r[5]), "in_store": int(r[6])} for r in rows]  # fmt: skip


def goods_totals(db: Database, scope: Scope) -> list[dict[str, Any]]:
    return _goods(_goods_rows(db, scope, _source(db, scope)))


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

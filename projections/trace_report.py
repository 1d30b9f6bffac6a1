"""The donor-facing trace of one donation (捐赠去向), read from the tracing read model.

It shows the donation's public record, each allocation and transfer its money took, the
disbursements and goods issues it paid for, substitutions made by corrections, and what is
still idle where, with totals that must reconcile. It never lists a recipient: disbursements
are counted per program and village, goods issues to people per item and approver, and
protected recipients' payments appear only as amounts in one aggregate line (no program,
village or count that could single anyone out). Every figure is net of corrections, and each
correction that touched the donation is listed with its 更正说明.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ledger.application import Ledger
from ledger.catalogue import CATEGORIES, DONOR_CLASSES
from ledger.errors import NotFound
from projections.balances import BalancesProjection
from projections.replay import scratch_as_of
from projections.sql import Database
from projections.tracing import MONEY, USES, TracingProjection

_GOODS_FIELDS = ("item", "grade", "unit", "purpose")


def measured(measure: str, amount: int) -> dict[str, Any]:
    """``{"amount_fen": n}`` for money, ``{"item", "grade", "unit", "purpose", "quantity"}`` for goods."""
    if measure == MONEY:
        return {"amount_fen": amount}
    values = json.loads(measure)
    goods: dict[str, Any] = dict(zip(_GOODS_FIELDS, values, strict=True))
    goods["purpose"] = goods["purpose"] or None
    goods["quantity"] = amount
    return goods


def source_label(ref: str) -> str:
    kind, _, name = ref.partition(":")
    return {"donation": "捐赠", "appropriation": "财政拨款", "goods-receipt": "物资入库"}[kind] + " " + name


def donation_trace(db: Database, receipt_no: str) -> dict[str, Any]:
    """Where the donation with this receipt number went (as far as the read model has got)."""
    ref = f"donation:{receipt_no}"
    found = db.query(
        "SELECT account, body, status, notes FROM gk_trace_sources WHERE ref = ?", (ref,)
    )
    if not found:
        raise NotFound(f"no donation with receipt number {receipt_no!r}", field="receipt_no")
    rows = db.query(f"SELECT {_TRACE_COLUMNS} FROM gk_trace WHERE source = ? ORDER BY position, seq", (ref,))
    idle = db.query(
        "SELECT account, measure, SUM(remaining) FROM gk_trace_lots WHERE source = ? "
        "GROUP BY account, measure ORDER BY account, measure",
        (ref,),
    )
    return _trace(receipt_no, found[0], [_Row(*r) for r in rows], idle, _accounts(db), _officials(db))


def donation_traces(db: Database, receipts: Sequence[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Every donation's trace (or those of ``receipts``), by receipt number: the same as
    ``donation_trace`` of each, read with three ordered scans of the read model instead of
    five queries per donation.

    The three scans go through the donations in the same order (their position, then ref, by
    the database's own collation), so each trace's rows are taken as the scan passes them.
    """
    accounts, officials = _accounts(db), _officials(db)
    if receipts is None:
        found = _traces_where(db, "", [], accounts, officials)
    else:
        found = []
        refs = [f"donation:{r}" for r in sorted(set(receipts))]
        for start in range(0, len(refs), _CHUNK):
            chunk = refs[start : start + _CHUNK]
            where = f" AND s.ref IN ({', '.join('?' for _ in chunk)})"
            found += _traces_where(db, where, chunk, accounts, officials)
    return sorted(found, key=lambda pair: pair[0])


_CHUNK = 500


def _traces_where(db: Database, where: str, params: list[str], accounts: dict[str, dict[str, Any]],
                  officials: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
    join = "JOIN gk_trace_sources s ON s.ref = {}.source WHERE s.kind = 'donation'" + where
    with db.scans(3) as (sources, trace, lots):
        sources.execute("SELECT ref, label, account, body, status, notes FROM gk_trace_sources s "
                        f"WHERE kind = 'donation'{where} ORDER BY s.position, s.ref", params)  # fmt: skip
        columns = ", ".join(f"t.{c}" for c in _TRACE_COLUMNS.split(", "))
        trace.execute(f"SELECT t.source, {columns} FROM gk_trace t {join.format('t')} "
                      "ORDER BY s.position, s.ref, t.position, t.seq", params)  # fmt: skip
        lots.execute(f"SELECT l.source, l.account, l.measure, SUM(l.remaining) FROM gk_trace_lots l "
                     f"{join.format('l')} GROUP BY s.position, l.source, l.account, l.measure "
                     "ORDER BY s.position, l.source, l.account, l.measure", params)  # fmt: skip
        rows, idle = _grouped(trace), _grouped(lots)
        found = []
        for ref, label, *source in sources:
            found.append((str(label), _trace(str(label), source, [_Row(*r) for r in rows(ref)], idle(ref),
                                             accounts, officials)))  # fmt: skip
    return found


def donation_records(db: Database) -> dict[str, tuple[dict[str, Any], str]]:
    """Per receipt number, by receipt number: the donation's own record as its trace shows it
    (``trace["donation"]``), and a summary of everything its whole trace is made of — its
    source row, how many trace rows it has and the position of the last (the rows are only
    ever appended, in log order), what is idle where, and the names of the accounts and
    officials — such that equal summaries give equal traces; the summary is given as its
    SHA-256 (of its pickle: equal data built alike pickle alike). Three aggregate queries, no
    trace built: a publish builds again only the traces whose summary changed."""
    accounts, officials = _accounts(db), _officials(db)
    names = hashlib.sha256(repr((sorted((k, str(a)) for k, a in accounts.items()),
                                 sorted(officials.items()))).encode()).hexdigest()  # fmt: skip
    counts = {str(ref): (int(n), int(last)) for ref, n, last in db.query(
        "SELECT source, COUNT(*), MAX(position) FROM gk_trace WHERE source LIKE ? GROUP BY source",
        ("donation:%",))}  # fmt: skip
    idle: dict[str, list[tuple[str, str, int]]] = {}
    for ref, account, measure, remaining in db.query(
        "SELECT source, account, measure, SUM(remaining) FROM gk_trace_lots WHERE source LIKE ? "
        "GROUP BY source, account, measure",
        ("donation:%",),
    ):
        idle.setdefault(str(ref), []).append((str(account), str(measure), int(remaining)))
    found = {}
    for ref, label, account, body, status, notes in db.query(
        "SELECT ref, label, account, body, status, notes FROM gk_trace_sources WHERE kind = 'donation'"
    ):
        record = _donation(json.loads(body), accounts[account], status, [] if notes == "[]" else json.loads(notes))
        summary = (account, body, status, notes, counts.get(ref), sorted(idle.get(ref, [])), names)
        found[str(label)] = (record, hashlib.sha256(pickle.dumps(summary, protocol=5)).hexdigest())
    return dict(sorted(found.items()))


_TRACE_COLUMNS = ("position, kind, measure, amount, from_account, to_account, day, move, corrects, "
                  "counterpart, detail")  # fmt: skip


def _grouped(rows: Iterable[tuple[Any, ...]]) -> Callable[[str], list[tuple[Any, ...]]]:
    """For rows grouped by their first column, in the order the keys will be asked for:
    ``take(key)`` returns the rows of ``key`` (without it), or none."""
    stream = iter(rows)
    pending: list[Any] = [next(stream, None)]

    def take(key: str) -> list[tuple[Any, ...]]:
        found = []
        while pending[0] is not None and pending[0][0] == key:
            found.append(tuple(pending[0][1:]))
            pending[0] = next(stream, None)
        return found

    return take


def _officials(db: Database) -> dict[str, str]:
    return {str(k): str(n) for k, n in db.query("SELECT key_id, name FROM gk_officials")}


def _trace(receipt_no: str, source: Sequence[Any], rows: list[_Row], idle: Sequence[Sequence[Any]],
           accounts: dict[str, dict[str, Any]], officials: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    account, body_text, status, notes = source
    body = json.loads(body_text)
    disbursements, protected = _disbursements(rows, accounts)
    issues, protected_goods = _goods_issues(rows, accounts, officials)
    return {
        "receipt_no": receipt_no,
        "donation": _donation(body, accounts[account], status, json.loads(notes)),
        "movements": _movements(rows, accounts),
        "disbursements": disbursements,
        "goods_issues": issues,
        "protected": {"amount_fen": protected, "goods": protected_goods}
        if protected or protected_goods else None,
        "substitutions": _substitutions(rows, accounts),
        "idle": [
            {"account": accounts[str(a)], **measured(str(m), int(n))} for a, m, n in idle if n
        ],
        "totals": _totals(rows, idle),
        "corrections": _corrections(rows),
    }


class _Row:
    def __init__(self, position: int, kind: str, measure: str, amount: int, frm: str | None,
                 to: str | None, day: str, move: str, corrects: str | None,
                 counterpart: str | None, detail: str) -> None:  # fmt: skip
        self.position = int(position)
        self.kind = kind
        self.measure = measure
        self.amount = int(amount)
        self.frm = frm
        self.to = to
        self.day = day
        self.movement = corrects or move  # a correction's rows restate the movement it corrects
        self.corrected = corrects is not None
        self.counterpart = counterpart
        self.detail: dict[str, Any] = json.loads(detail)


def _accounts(db: Database) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for kind, code, name, category in db.query(
        "SELECT kind, code, name, category FROM gk_accounts"
    ):
        entry: dict[str, Any] = {"kind": kind, "code": code, "name": name}
        if category:
            entry["category"] = category
            entry["category_label"] = CATEGORIES[category][1]
        found[f"{kind}:{code}"] = entry
    return found


def _donation(
    body: dict[str, Any], account: dict[str, Any], status: str, notes: list[dict[str, Any]]
) -> dict[str, Any]:
    purpose = body.get("purpose")
    data: dict[str, Any] = {
        "date": body["date"],
        "donor_class": body["donor_class"],
        "donor_class_label": DONOR_CLASSES[body["donor_class"]],
        "donor_name": body.get("donor_name") if body.get("consent") else None,
        "purpose": purpose,
        "purpose_label": CATEGORIES[purpose][1] if purpose else None,
        "account": account,
        "pledge_no": body.get("pledge_no"),
        "note": body.get("note"),
        "status": status,
        "corrections": notes,
    }
    if body.get("fund") is not None:
        data["amount_fen"] = 0 if status == "reversed" else body["amount"]
    else:
        data["goods"] = [] if status == "reversed" else body["goods"]
    return data


def _net(rows: Iterable[_Row], key: Any) -> dict[Any, tuple[int, list[_Row]]]:
    """Rows summed per ``key(row)``, with the rows, in first-seen order."""
    groups: dict[Any, tuple[int, list[_Row]]] = {}
    for row in rows:
        k = key(row)
        total, members = groups.get(k, (0, []))
        groups[k] = (total + row.amount, [*members, row])
    return groups


def _movements(rows: list[_Row], accounts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    moves = _net(
        (r for r in rows if r.kind in ("allocation", "transfer")),
        lambda r: (r.movement, r.kind, r.frm, r.to, r.measure),
    )
    return [
        {"kind": kind, "date": min(r.day for r in members), "from": accounts[str(frm)],
         "to": accounts[str(to)], **measured(measure, total),
         "corrected": any(r.corrected for r in members)}
        for (_, kind, frm, to, measure), (total, members) in moves.items()
    ]  # fmt: skip


def _disbursements(
    rows: list[_Row], accounts: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    payments = _net(
        (r for r in rows if r.kind == "disbursement"),
        lambda r: (r.movement, r.frm, r.detail.get("village"), r.detail.get("recipient"),
                   r.detail["protected"]),
    )  # fmt: skip
    protected = 0
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for (_, program, village, recipient, hidden), (total, members) in payments.items():
        if hidden:
            protected += total
            continue
        if total == 0:
            continue
        day = min(r.day for r in members)
        line = lines.setdefault((str(program), str(village)), {
            "program": accounts[str(program)], "village": village, "payments": 0,
            "recipients": set(), "amount_fen": 0, "first_date": day, "last_date": day,
        })  # fmt: skip
        line["payments"] += 1
        line["recipients"].add(recipient)
        line["amount_fen"] += total
        line["first_date"] = min(line["first_date"], day)
        line["last_date"] = max(line["last_date"], day)
    for line in lines.values():
        line["recipients"] = len(line["recipients"])
    return [lines[k] for k in sorted(lines)], protected


def _goods_issues(
    rows: list[_Row], accounts: dict[str, dict[str, Any]], officials: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    issues = _net(
        (r for r in rows if r.kind == "goods_issue"),
        lambda r: (r.movement, r.frm, r.measure, r.detail.get("category"),
                   r.detail.get("institution"), r.detail.get("recipient"),
                   r.detail.get("approved_by"), r.detail["protected"]),
    )  # fmt: skip
    out: list[dict[str, Any]] = []
    to_people: dict[tuple[str, ...], dict[str, Any]] = {}
    hidden: dict[str, int] = {}
    for (_, store, measure, category, institution, recipient, approver, protected), (
        total, members
    ) in issues.items():
        if protected:
            hidden[measure] = hidden.get(measure, 0) + total
            continue
        if total == 0:
            continue
        day = min(r.day for r in members)
        common = {"store": accounts[str(store)], "category": category,
                  "category_label": CATEGORIES[category][1],
                  "approved_by": {"key_id": approver, "name": officials.get(str(approver))}}  # fmt: skip
        if institution is not None:
            out.append({"date": day, **common, "institution": institution,
                        **measured(measure, total)})  # fmt: skip
            continue
        line = to_people.setdefault((str(store), measure, category, str(approver)), {
            "first_date": day, "last_date": day, **common, "recipients": set(), "issues": 0,
            **measured(measure, 0)})  # fmt: skip
        line["recipients"].add(recipient)
        line["issues"] += 1
        line["quantity"] += total
        line["first_date"] = min(line["first_date"], day)
        line["last_date"] = max(line["last_date"], day)
    for line in to_people.values():
        line["recipients"] = len(line["recipients"])
        out.append(line)
    goods = [measured(m, q) for m, q in sorted(hidden.items()) if q]
    return out, goods


def _substitutions(rows: list[_Row], accounts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    swaps = _net(
        (r for r in rows if r.kind == "substitution"), lambda r: (r.counterpart, r.frm, r.measure)
    )
    return [
        {"counterpart": str(other), "counterpart_label": source_label(str(other)),
         "account": accounts[str(frm)], **measured(measure, total)}
        for (other, frm, measure), (total, _) in swaps.items() if total
    ]  # fmt: skip


def _totals(rows: list[_Row], idle: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    figures: dict[str, dict[str, int]] = {}

    def of(measure: str) -> dict[str, int]:
        return figures.setdefault(measure, dict.fromkeys(
            ("received", "used", "substituted", "idle", "allocated", "transferred"), 0))  # fmt: skip

    names = {"received": "received", "disbursement": "used", "goods_issue": "used",
             "substitution": "substituted", "allocation": "allocated", "transfer": "transferred"}  # fmt: skip
    for row in rows:
        of(row.measure)[names[row.kind]] += row.amount
    for _, measure, amount in idle:
        of(str(measure))["idle"] += int(amount)
    out = []
    for measure, f in figures.items():
        if not any(f.values()):
            continue  # a measure corrected away entirely (N95 that was KN95)
        what = measured(measure, 0)
        what.pop("amount_fen" if measure == MONEY else "quantity")
        balanced = f["received"] == f["used"] + f["substituted"] + f["idle"]
        out.append({"money": measure == MONEY, **what, **f, "reconciled": balanced})
    return out


def _corrections(rows: list[_Row]) -> list[dict[str, Any]]:
    """Each correction of a movement that touched this donation, once, with its 更正说明."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row.corrected and row.kind != "received" and "note" in row.detail:
            seen.setdefault((row.movement, row.detail["note"]), {
                "kind": row.kind, "date": row.day, "note": row.detail["note"]})  # fmt: skip
    return list(seen.values())


def reconciliation(db: Database) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Per (source, measure): (received, used, idle); every source has received = used + idle."""
    figures: dict[tuple[str, str], list[int]] = {}
    uses = ", ".join(f"'{k}'" for k in USES)
    for source, measure, received, used in db.query(
        "SELECT source, measure, SUM(CASE WHEN kind = 'received' THEN amount ELSE 0 END), "
        f"SUM(CASE WHEN kind IN ({uses}) THEN amount ELSE 0 END) FROM gk_trace "
        "GROUP BY source, measure"
    ):
        figures[str(source), str(measure)] = [int(received), int(used), 0]
    for source, measure, idle in db.query(
        "SELECT source, measure, SUM(remaining) FROM gk_trace_lots GROUP BY source, measure"
    ):
        figures.setdefault((str(source), str(measure)), [0, 0, 0])[2] = int(idle)
    return {key: (r, u, i) for key, (r, u, i) in sorted(figures.items())}


def traced_as_of(app: Ledger, live: Database, size: int) -> AbstractContextManager[Database]:
    """Balances and tracing rebuilt from zero as the log stood at ``size`` leaves (a
    checkpoint's tree size), in a scratch SQLite database that is thrown away afterwards."""
    return scratch_as_of(app, live, size, [BalancesProjection(), TracingProjection()])

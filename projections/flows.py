"""The flows read model: every movement of money and goods as rows of one fact table.

One signed command becomes one or more rows of ``gk_flows`` (written once, on the event of the
command's first aggregate). Each row is a flow from a source to a destination, sorted by the
boundary of UN OCHA FTS:

    incoming   donors and governments -> funds or stores         (donation, appropriation, goods in)
    internal   fund -> fund, fund -> program                      (transfer, allocation)
    outgoing   program -> recipient, store -> recipient/institution (disbursement, goods issue)
    pledge     promised, not received: never counted in totals

so reports add up incoming and outgoing flows and never count internal transfers twice.
A correction becomes the original's rows negated plus the replacement's rows, each dated with
the date of the movement it describes (a restatement), flagged ``correction = 1``; nothing is
edited. Only public-part fields are stored: no personal data can reach a report from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.catalogue import area_of
from ledger.commands import read_payload
from ledger.ids import id_text
from projections.runner import Events

COLUMNS = (
    "position", "seq", "day", "boundary", "kind", "source", "dest", "fund", "program", "store",
    "area", "category", "purpose", "donor_class", "donor_name", "level", "receipt_no",
    "document_no", "village", "recipient", "protected", "institution", "amount", "item", "grade",
    "unit", "quantity", "approved_by", "recorded_by", "correction",
)  # fmt: skip
_OPEN = {"fund.open": "fund", "program.open": "program", "store.open": "store"}
_INSERT = f"INSERT INTO gk_flows ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"


class FlowsProjection:
    name = "flows"
    tables = ("gk_flows", "gk_flow_accounts")
    rebuild_cost = 14  # its share of a rebuild's work (``Runner.rebuild`` splits by it)

    def __init__(self) -> None:
        # Accounts' area and category never change once opened: read each once per page.
        self._accounts: dict[tuple[str, str], dict[str, Any]] = {}

    def begin(self, cursor: Any) -> None:
        """A new page (and transaction): forget what an earlier one read."""
        self._accounts.clear()

    def create(self, cursor: Any, dialect: str) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_flows (position BIGINT NOT NULL, seq INTEGER NOT NULL, "
            "day TEXT NOT NULL, boundary TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, "
            "dest TEXT NOT NULL, fund TEXT, program TEXT, store TEXT, area TEXT, category TEXT, "
            "purpose TEXT, donor_class TEXT, donor_name TEXT, level TEXT, receipt_no TEXT, "
            "document_no TEXT, village TEXT, recipient TEXT, protected INTEGER NOT NULL, "
            "institution TEXT, amount BIGINT NOT NULL, item TEXT, grade TEXT, unit TEXT, "
            "quantity BIGINT NOT NULL, approved_by TEXT, recorded_by TEXT NOT NULL, "
            "correction INTEGER NOT NULL, PRIMARY KEY (position, seq))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_flow_accounts (code TEXT NOT NULL, kind TEXT NOT NULL, "
            "name TEXT NOT NULL, area TEXT, category TEXT, department TEXT NOT NULL, "
            "restricted INTEGER NOT NULL, PRIMARY KEY (kind, code))"
        )

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_page(cursor, [(event, position)])

    def apply_page(self, cursor: Any, events: Events) -> None:
        """The page's flow rows in one statement (accounts, which they read, as they open)."""
        rows: list[list[Any]] = []
        for event, position in events:
            rows += self._flows(cursor, event, position)
        cursor.executemany(_INSERT, rows)

    def _flows(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> list[list[Any]]:
        """The event's rows of ``gk_flows`` (values in ``COLUMNS`` order); opens an account."""
        signed = getattr(event, "signed", None)
        if signed is None:  # pragma: no cover - every ledger event is signed
            return []
        payload = read_payload(signed)
        if payload["targets"][0] != id_text(event.originator_id):
            return []  # the command's rows are written once, on its first aggregate's event
        cmd, body = payload["cmd"], payload["body"]
        if cmd in _OPEN:
            category = body.get("category")
            cursor.execute(
                "INSERT INTO gk_flow_accounts (code, kind, name, area, category, department, "
                "restricted) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (body["code"], _OPEN[cmd], body["name"], area_of(category) if category else None,
                 category, body["department"], 1 if body.get("restricted") else 0),
            )  # fmt: skip
            return []
        rows: list[dict[str, Any]] = []

        def account(kind: str, code: str) -> dict[str, Any]:
            found = self._accounts.get((kind, code))
            if found is None:
                found = _account(cursor, kind, code)
                if found["area"] is not None or found["category"] is not None:
                    self._accounts[kind, code] = found
            return found

        if cmd == "correction.record":
            original = body["original"]
            rows += [dict(r, sign=-1) for r in _rows(account, original["cmd"], original["body"])]
            if body.get("replacement") is not None:
                rows += _rows(account, original["cmd"], body["replacement"])
            correction = 1
        else:
            rows = _rows(account, cmd, body)
            correction = 0
        values = []
        for seq, row in enumerate(rows):
            sign = row.pop("sign", 1)
            row.update(position=position, seq=seq, recorded_by=payload["by"], correction=correction)
            row["amount"] = sign * row.get("amount", 0)
            row["quantity"] = sign * row.get("quantity", 0)
            row.setdefault("protected", 0)
            values.append([row.get(c) for c in COLUMNS])
        return values


def _account(cursor: Any, kind: str, code: str) -> dict[str, Any]:
    cursor.execute(
        "SELECT area, category FROM gk_flow_accounts WHERE kind = ? AND code = ?", (kind, code)
    )
    row = cursor.fetchone()
    return {"area": row[0], "category": row[1]} if row else {"area": None, "category": None}


def _goods_rows(base: dict[str, Any], goods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        dict(base, item=g["item"], grade=g.get("grade", ""), unit=g["unit"], quantity=g["quantity"])
        for g in goods
    ]


def _rows(
    account: Callable[[str, str], dict[str, Any]], cmd: str, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """The flow rows of one command body (positive; corrections negate them); ``account``
    gives an account's area and category by kind and code."""
    day = body.get("date", "")
    purpose = body.get("purpose")
    if cmd in ("donation.receive", "pledge.record"):
        donor = {
            "donor_class": body["donor_class"],
            "donor_name": body.get("donor_name") if body.get("consent") else None,
            "receipt_no": body.get("receipt_no") or body.get("pledge_no"),
            "purpose": purpose,
            "day": day,
            "source": f"donor:{body['donor_class']}",
        }
        if cmd == "pledge.record":
            return [dict(donor, boundary="pledge", kind="pledge", dest=f"fund:{body['fund']}",
                         fund=body["fund"], amount=body["amount"],
                         **account("fund", body["fund"]))]  # fmt: skip
        if body.get("fund") is not None:
            return [dict(donor, boundary="incoming", kind="donation", dest=f"fund:{body['fund']}",
                         fund=body["fund"], amount=body["amount"],
                         **account("fund", body["fund"]))]  # fmt: skip
        base = dict(donor, boundary="incoming", kind="donation", dest=f"store:{body['store']}",
                    store=body["store"], area=area_of(purpose) if purpose else None,
                    category=purpose)  # fmt: skip
        return _goods_rows(base, body["goods"])
    if cmd == "appropriation.receive":
        return [{"day": day, "boundary": "incoming", "kind": "appropriation",
                 "source": f"government:{body['level']}", "dest": f"fund:{body['fund']}",
                 "fund": body["fund"], "level": body["level"], "document_no": body["document_no"],
                 "purpose": purpose, "amount": body["amount"],
                 **account("fund", body["fund"])}]  # fmt: skip
    if cmd == "allocation.make":
        return [{"day": day, "boundary": "internal", "kind": "allocation",
                 "source": f"fund:{body['fund']}", "dest": f"program:{body['program']}",
                 "fund": body["fund"], "program": body["program"], "purpose": purpose,
                 "amount": body["amount"], **account("program", body["program"])}]  # fmt: skip
    if cmd == "transfer.make":
        return [{"day": day, "boundary": "internal", "kind": "transfer",
                 "source": f"fund:{body['from_fund']}", "dest": f"fund:{body['to_fund']}",
                 "fund": body["from_fund"], "purpose": purpose, "amount": body["amount"],
                 **account("fund", body["to_fund"])}]  # fmt: skip
    if cmd == "disbursement.make":
        protected = 1 if body.get("protected") else 0
        return [{"day": day, "boundary": "outgoing", "kind": "disbursement",
                 "source": f"program:{body['program']}", "dest": "recipient",
                 "program": body["program"], "village": body.get("village"),
                 "recipient": body.get("recipient"), "protected": protected,
                 "amount": body["amount"], **account("program", body["program"])}]  # fmt: skip
    if cmd == "goods.receive":
        base = {"day": day, "boundary": "incoming", "kind": "goods_in", "source": "external",
                "dest": f"store:{body['store']}", "store": body["store"], "purpose": purpose,
                "institution": body["source"], "area": area_of(purpose) if purpose else None,
                "category": purpose}  # fmt: skip
        return _goods_rows(base, body["goods"])
    if cmd == "goods.issue":
        to = "institution" if body.get("institution") else "recipient"
        base = {"day": day, "boundary": "outgoing", "kind": "goods_issue",
                "source": f"store:{body['store']}", "dest": to, "store": body["store"],
                "purpose": purpose, "category": body["category"],
                "area": area_of(body["category"]), "recipient": body.get("recipient"),
                "institution": body.get("institution"), "approved_by": body["approved_by"]}  # fmt: skip
        return _goods_rows(base, body["goods"])
    return []

"""Recipient lists by audience (DOMAIN.md: "aggregates for the internet, lists for the village").

* ``public_list`` — for the internet: per village and relief category, how many recipients were
  paid and how much. No name, no pseudonym.
* ``village_list`` — for the village notice board: each recipient's masked name (张*明), household
  size and amount, under the village and category they belong to. Nothing else: not the
  pseudonym, which would tie the board to the published log.
* ``auditor_list`` — for an authorised auditor only: everything, decrypted, protected recipients
  included, erased ones marked as such.

Protected recipients never appear individually on the public or village list. Each ends with
what was withheld — "另有 N 名受保护对象，合计 ¥X" — counted over the whole town (never per
village: that would point at a household) for the same category and period, so that
``listed + other villages + withheld = total paid`` always holds. N counts distinct persons
through the subjects of the payments' sealed parts (never decrypted for it); a protected payment
recorded without a sealed part counts as one person.

Personal data is decrypted here, when a list is printed, and nowhere else; an erased person's
data cannot be (their key is gone) and they are listed as erased.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ledger.application import Ledger
from ledger.catalogue import CATEGORIES
from ledger.identity import mask_name
from ledger.sealing import Opened
from projections.sql import Database

AUDIENCES = ("public", "village", "auditor")
ERASED = "（已删除）"
UNREGISTERED = "（未登记）"


@dataclass(frozen=True, slots=True)
class Filters:
    village: str | None = None
    category: str | None = None
    period: str | None = None  # YYYY or YYYY-MM: the month a payment is for

    def where(self, *, village: bool = True) -> tuple[str, list[Any]]:
        clauses, params = ["1 = 1"], []
        if village and self.village is not None:
            clauses.append("p.village = ?")
            params.append(self.village)
        if self.category is not None:
            clauses.append("p.category = ?")
            params.append(self.category)
        if self.period is not None:
            clauses.append("p.period LIKE ?")
            params.append(self.period + "%")
        return " AND ".join(clauses), params

    def to_json(self) -> dict[str, Any]:
        return {"village": self.village, "category": self.category, "period": self.period}


def _label(category: str | None) -> str:
    return CATEGORIES[category][1] if category in CATEGORIES else (category or "")


def withheld(db: Database, ledger: Ledger, filters: Filters) -> dict[str, Any]:
    """Protected recipients and what they were paid, town-wide for the category and period."""
    where, params = filters.where(village=False)
    rows = db.query(
        f"SELECT digest, amount FROM gk_recipient_payments p WHERE protected = 1 "
        f"AND amount <> 0 AND {where}",
        params,
    )
    digests = [r[0] for r in rows if r[0] is not None]
    subjects = {d: s for d, (s, _, _) in ledger.sealed_store.find_sealed(digests).items()}
    people = {subjects.get(r[0], f"#{i}") for i, r in enumerate(rows)}
    return {"recipients": len(people), "amount_fen": sum(int(r[1]) for r in rows), "scope": "town"}


def _total(db: Database, filters: Filters) -> int:
    where, params = filters.where(village=False)
    rows = db.query(f"SELECT COALESCE(SUM(amount), 0) FROM gk_recipient_payments p WHERE {where}", params)
    return int(rows[0][0])


def _paid(db: Database, filters: Filters) -> list[tuple[str, str, str, int]]:
    """(pseudonym, village, category, amount) of every recipient paid in public."""
    where, params = filters.where()
    rows = db.query(
        "SELECT recipient, village, category, SUM(amount) FROM gk_recipient_payments p "
        f"WHERE protected = 0 AND {where} GROUP BY recipient, village, category "
        "HAVING SUM(amount) <> 0 ORDER BY village, category, recipient",
        params,
    )
    return [(r[0], r[1], r[2], int(r[3])) for r in rows]


def _envelope(audience: str, db: Database, ledger: Ledger, filters: Filters,
              rows: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    listed = sum(r["amount_fen"] for r in rows)
    held = withheld(db, ledger, filters)
    total = _total(db, filters)
    return {
        "audience": audience,
        "filters": filters.to_json(),
        "rows": rows,
        "listed_fen": listed,
        "other_villages_fen": total - listed - held["amount_fen"],
        "withheld": held,
        "total_fen": total,
    }


def public_list(db: Database, ledger: Ledger, filters: Filters) -> dict[str, Any]:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for _, village, category, amount in _paid(db, filters):
        cell = cells[village, category]
        cell[0] += 1
        cell[1] += amount
    rows = [
        {"village": village, "category": category, "category_label": _label(category),
         "recipients": count, "amount_fen": amount}
        for (village, category), (count, amount) in sorted(cells.items())
    ]  # fmt: skip
    return _envelope("public", db, ledger, filters, rows)


def _registrations(db: Database) -> dict[str, tuple[str | None, str | None]]:
    """pseudonym -> (digest, erased_at) of every recipient registered in public."""
    rows = db.query("SELECT pseudonym, digest, erased_at FROM gk_recipients WHERE protected = 0")
    return {r[0]: (r[1], r[2]) for r in rows}


def village_list(db: Database, ledger: Ledger, filters: Filters) -> dict[str, Any]:
    paid = _paid(db, filters)
    registered = _registrations(db)
    digests = [d for p, *_ in paid if (d := registered.get(p, (None, None))[0]) is not None]
    opened = ledger.open_sealed(digests)
    rows = []
    for pseudonym, village, category, amount in paid:
        digest, _ = registered.get(pseudonym, (None, None))
        found = opened.get(digest) if digest is not None else None
        name, size, status = None, None, "unregistered"
        if found is not None and found.part is not None:
            name, size, status = mask_name(found.part.data["name"]), found.part.data["household_size"], "listed"
        elif digest is not None:
            status = "erased"
        rows.append({"village": village, "category": category, "category_label": _label(category),
                     "name": name, "household_size": size, "amount_fen": amount,
                     "status": status})  # fmt: skip
    rows.sort(key=lambda r: (r["village"], r["category"], r["name"] or "～", r["amount_fen"]))
    return _envelope("village", db, ledger, filters, rows)


def auditor_list(db: Database, ledger: Ledger, filters: Filters) -> dict[str, Any]:
    """Everything about every recipient (the caller has checked the auditor's key)."""
    registrations = db.query(
        "SELECT pseudonym, village, program, category, protected, digest, registered_at, erased_at "
        "FROM gk_recipients ORDER BY registered_at, id"
    )
    where, params = filters.where(village=False)
    payments = db.query(
        f"SELECT recipient, village, category, protected, digest, amount FROM gk_recipient_payments p "
        f"WHERE amount <> 0 AND {where}",
        params,
    )
    digests = [r[5] for r in registrations if r[5]] + [r[4] for r in payments if r[4]]
    opened = ledger.open_sealed(digests)
    people: dict[str, dict[str, Any]] = {}
    for pseudonym, village, program, category, protected, digest, at, erased_at in registrations:
        found: Opened | None = opened.get(digest) if digest else None
        who = pseudonym or (found.subject if found else f"?{digest}")
        data = found.part.data if found is not None and found.part is not None else {}
        people[who] = {
            "pseudonym": who, "status": "erased" if erased_at or not data else "registered",
            "protected": bool(protected), "village": village, "program": program,
            "category": category, "category_label": _label(category),
            "name": data.get("name"), "id_number": data.get("id_number"), "phone": data.get("phone"),
            "address": data.get("address"), "bank_account": data.get("bank_account"),
            "household_size": data.get("household_size"), "flags": data.get("flags", []),
            "registered_at": at, "erased_at": erased_at, "payments": 0, "amount_fen": 0,
        }  # fmt: skip
    unattributed = {"payments": 0, "amount_fen": 0}
    for recipient, village, category, protected, digest, amount in payments:
        found = opened.get(digest) if digest else None
        who = found.subject if protected and found is not None else recipient
        if who is None:
            unattributed["payments"] += 1
            unattributed["amount_fen"] += int(amount)
            continue
        person = people.setdefault(who, {
            "pseudonym": who, "status": "unregistered", "protected": bool(protected),
            "village": village, "category": category, "category_label": _label(category),
            "payments": 0, "amount_fen": 0,
        })  # fmt: skip
        person["payments"] += 1
        person["amount_fen"] += int(amount)
    rows = [p for p in people.values() if _matches(p, filters)]
    rows.sort(key=lambda p: (p["village"] or "～", p["category"] or "", p["pseudonym"]))
    total = _total(db, filters)
    return {
        "audience": "auditor",
        "filters": filters.to_json(),
        "rows": rows,
        "listed_fen": sum(p["amount_fen"] for p in rows),
        "protected_without_sealed_part": unattributed,
        "total_fen": total,
    }


def _matches(person: dict[str, Any], filters: Filters) -> bool:
    if filters.category is not None and person["category"] != filters.category:
        return False
    if filters.village is None:
        return True
    if person["village"] is not None:
        return bool(person["village"] == filters.village)
    return filters.village in (person.get("address") or "")


def build(audience: str, db: Database, ledger: Ledger, filters: Filters) -> dict[str, Any]:
    return {"public": public_list, "village": village_list, "auditor": auditor_list}[audience](
        db, ledger, filters
    )

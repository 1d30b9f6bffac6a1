"""The balances read model: accounts (funds, programs, stores), their buckets, and officials.

A fold over the log: an "open" event inserts an account, every movement or correction event
adds that aggregate's deltas (the same function the write side checks with), registry events
keep the officials table. ``gongkai balances``, ``funds list`` and the first web page read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.accounts import deltas_for
from ledger.catalogue import area_of
from ledger.ids import id_text
from projections.runner import Events, signed_payloads

_OPEN_KINDS = {"fund.open": "fund", "program.open": "program", "store.open": "store"}
_REGISTRY = ("registry.found", "official.enrol", "official.change_role", "official.revoke")


class BalancesProjection:
    name = "balances"
    tables = ("gk_accounts", "gk_buckets", "gk_officials")
    rebuild_cost = 7  # its share of a rebuild's work (``Runner.rebuild`` splits by it)

    def create(self, cursor: Any, dialect: str) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_accounts ("
            "id TEXT PRIMARY KEY, kind TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, "
            "area TEXT, category TEXT, department TEXT NOT NULL, restricted INTEGER NOT NULL, "
            "balance BIGINT NOT NULL, position BIGINT NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_buckets ("
            "account_id TEXT NOT NULL, bucket TEXT NOT NULL, amount BIGINT NOT NULL, "
            "PRIMARY KEY (account_id, bucket))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_officials ("
            "key_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
            "department TEXT NOT NULL, public_key TEXT NOT NULL, enrolled_at TEXT NOT NULL, "
            "revoked_at TEXT)"
        )

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_page(cursor, [(event, position)])

    def apply_page(self, cursor: Any, events: Events) -> None:
        """The page's new accounts, then each touched bucket's net change and each account's net
        change with its latest position, one statement each: rows as event by event."""
        opened: list[tuple[Any, ...]] = []
        buckets: dict[tuple[str, str], int] = {}
        moved: dict[str, list[int]] = {}  # account id -> [net change, latest position]
        for event, payload, position in signed_payloads(events):
            cmd = payload["cmd"]
            if cmd in _OPEN_KINDS:
                body = payload["body"]
                category = body.get("category")
                opened.append((
                    id_text(event.originator_id), _OPEN_KINDS[cmd], body["code"], body["name"],
                    area_of(category) if category else None, category, body["department"],
                    1 if body.get("restricted") else 0, position,
                ))  # fmt: skip
            elif cmd in _REGISTRY:
                self._registry(cursor, cmd, payload)  # officials: their own table, in order
            else:
                deltas = deltas_for(payload, event.originator_id)
                if not deltas:
                    continue
                account_id = id_text(event.originator_id)
                for bucket, change in deltas.items():
                    buckets[account_id, bucket] = buckets.get((account_id, bucket), 0) + change
                net = moved.setdefault(account_id, [0, position])
                net[0] += sum(deltas.values())
                net[1] = position
        cursor.executemany(
            "INSERT INTO gk_accounts (id, kind, code, name, area, category, department, "
            "restricted, balance, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            opened,
        )
        cursor.executemany(
            "INSERT INTO gk_buckets (account_id, bucket, amount) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id, bucket) DO UPDATE SET amount = gk_buckets.amount + ?",
            [(account_id, bucket, change, change) for (account_id, bucket), change in buckets.items()],
        )
        cursor.executemany(
            "UPDATE gk_accounts SET balance = balance + ?, position = ? WHERE id = ?",
            [(change, position, account_id) for account_id, (change, position) in moved.items()],
        )

    def _registry(self, cursor: Any, cmd: str, payload: dict[str, Any]) -> None:
        body = payload["body"]
        if cmd == "registry.found":
            self._official(cursor, body["administrator"], payload["at"])
        elif cmd == "official.enrol":
            self._official(cursor, body, payload["at"])
        elif cmd == "official.change_role":
            cursor.execute(
                "UPDATE gk_officials SET role = ?, department = ? WHERE key_id = ?",
                (body["role"], body["department"], body["key_id"]),
            )
        else:
            cursor.execute(
                "UPDATE gk_officials SET revoked_at = ? WHERE key_id = ?",
                (payload["at"], body["key_id"]),
            )

    def _official(self, cursor: Any, data: dict[str, Any], at: str) -> None:
        from ledger.keys import PublicKey

        key_id = PublicKey.from_b64(data["public_key"]).key_id
        cursor.execute(
            "INSERT INTO gk_officials (key_id, name, role, department, public_key, enrolled_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, data["name"], data["role"], data["department"], data["public_key"], at),
        )


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: str
    kind: str
    code: str
    name: str
    area: str | None
    category: str | None
    department: str
    restricted: bool
    balance: int
    buckets: dict[str, int]

    def stock(self) -> list[dict[str, Any]]:
        rows = []
        for bucket, quantity in sorted(self.buckets.items()):
            item, grade, unit, purpose = json.loads(bucket)
            rows.append({"item": item, "grade": grade, "unit": unit,
                         "purpose": purpose or None, "quantity": quantity})  # fmt: skip
        return rows

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "kind": self.kind,
            "name": self.name,
            "area": self.area,
            "category": self.category,
            "department": self.department,
        }
        if self.kind == "store":
            data["stock"] = self.stock()
        else:
            data["restricted"] = self.restricted
            data["balance_fen"] = self.balance
            if self.kind == "fund":
                data["buckets_fen"] = {k or "undirected": v for k, v in sorted(self.buckets.items())}
        return data


def accounts(db: Any, kind: str | None = None) -> list[AccountRow]:
    """Accounts from the read model, ordered by kind and code (call ``catch_up`` first)."""
    sql = (
        "SELECT id, kind, code, name, area, category, department, restricted, balance "
        "FROM gk_accounts"
    )
    params: tuple[str, ...] = ()
    if kind is not None:
        sql += " WHERE kind = ?"
        params = (kind,)
    rows = db.query(sql + " ORDER BY kind, code", params)
    buckets: dict[str, dict[str, int]] = {}
    for account_id, bucket, amount in db.query(
        "SELECT account_id, bucket, amount FROM gk_buckets WHERE amount <> 0"
    ):
        buckets.setdefault(account_id, {})[bucket] = int(amount)
    return [
        AccountRow(
            id=r[0], kind=r[1], code=r[2], name=r[3], area=r[4], category=r[5],
            department=r[6], restricted=bool(r[7]), balance=int(r[8]),
            buckets=buckets.get(r[0], {}),
        )
        for r in rows
    ]


def officials(db: Any) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT key_id, name, role, department, enrolled_at, revoked_at FROM gk_officials "
        "ORDER BY enrolled_at, key_id"
    )
    keys = ("key_id", "name", "role", "department", "enrolled_at", "revoked_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]

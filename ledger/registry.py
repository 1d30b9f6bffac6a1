"""The key registry: the jurisdiction, its officials, their roles, departments and keys.

Genesis (``registry.found``) creates the registry with the first administrator, self-signed.
Enrolment, role change and revocation are signed events of the same aggregate, so the registry
as it stood at any point of the log can be rebuilt by replaying it to that point.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger import ids
from ledger.catalogue import Role
from ledger.commands import read_payload
from ledger.errors import RevokedKey, UnknownKey
from ledger.keys import PublicKey


@dataclass(frozen=True, slots=True)
class Official:
    key_id: str
    name: str
    role: Role
    department: str
    public_key: PublicKey
    revoked_at: str | None


class Registry(Aggregate):
    @staticmethod
    def create_id() -> UUID:
        return ids.REGISTRY_ID

    @event("Founded")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        body = read_payload(signed)["body"]
        self.jurisdiction: str = body["jurisdiction"]
        self.officials: dict[str, dict[str, Any]] = {}
        self._enrol(body["administrator"])

    def _enrol(self, data: dict[str, Any]) -> None:
        key = PublicKey.from_b64(data["public_key"])
        self.officials[key.key_id] = {
            "name": data["name"],
            "role": data["role"],
            "department": data["department"],
            "public_key": data["public_key"],
            "revoked_at": None,
        }

    @event("OfficialEnrolled")
    def enrolled(self, signed: str, sig: str, key_id: str) -> None:
        self._enrol(read_payload(signed)["body"])

    @event("RoleChanged")
    def role_changed(self, signed: str, sig: str, key_id: str) -> None:
        body = read_payload(signed)["body"]
        official = self.officials[body["key_id"]]
        official["role"] = body["role"]
        official["department"] = body["department"]

    @event("OfficialRevoked")
    def revoked(self, signed: str, sig: str, key_id: str) -> None:
        payload = read_payload(signed)
        self.officials[payload["body"]["key_id"]]["revoked_at"] = payload["at"]

    def find(self, key_id: str) -> Official | None:
        data = self.officials.get(key_id)
        if data is None:
            return None
        return _official(key_id, data["name"], data["role"], data["department"],
                         data["public_key"], data["revoked_at"])  # fmt: skip

    def official(self, key_id: str) -> Official:
        """The enrolled, unrevoked official with this key, or ``UnknownKey``/``RevokedKey``."""
        found = self.find(key_id)
        if found is None:
            raise UnknownKey(f"key {key_id} is not enrolled in the registry of {self.jurisdiction}")
        if found.revoked_at is not None:
            raise RevokedKey(f"key {key_id} ({found.name}) was revoked at {found.revoked_at}")
        return found

    def all(self) -> list[Official]:
        return [o for k in sorted(self.officials) if (o := self.find(k)) is not None]


# Every command looks its signer up twice; an ``Official`` is immutable and a function of what
# the registry holds for the key, so the same holdings give the same object (a change of role,
# department or revocation holds other values, so it is never answered from here).
@lru_cache(maxsize=1_024)
def _official(
    key_id: str, name: str, role: str, department: str, public_key: str, revoked_at: str | None
) -> Official:
    return Official(
        key_id=key_id,
        name=name,
        role=Role(role),
        department=department,
        public_key=PublicKey.from_b64(public_key),
        revoked_at=revoked_at,
    )

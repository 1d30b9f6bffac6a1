"""The privacy scanner: finds personal data in text that is meant for the public or a notice board.

It looks for two kinds of things.

* Shapes that are personal whoever they belong to: an 18- or 15-digit resident ID number (also
  written with spaces or dashes), a masked ID number (``5201**********1234``), a mobile or
  landline phone number, a bank-card-like run of 16 to 19 digits, a house address
  (``…组12号``, ``…路3号``).
* The demo's own people (``Secrets``, read from the auditor's list): any full name, any 8-digit
  piece of an ID number (a birth date is 8 digits), any 4-digit piece of an ID number next to
  masking stars, any phone, bank card or address; and of a protected recipient any trace at all:
  pseudonym, name, or their village together with what they were paid.

Four-digit pieces of ID numbers are looked for only where they are published as pieces (next to
masking stars): in the wild, "5201" or "1980" is as often an amount or a year. Identifiers made
by hashing or drawn at random (UUIDs, key ids, nonces, digests, base64 keys) are blanked before
scanning: they are long runs of hex that hold any digits by chance and nothing personal by
construction. Each finding says what it is, never the value found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from api.bootstrap import bootstrap
from api.config import Settings
from ledger.application import Ledger
from ledger.commands import payload_of
from ledger.money import format_yuan
from projections.recipient_lists import Filters, auditor_list

_CRYPTO = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # UUIDs
    r"|(?<![0-9A-Za-z])[0-9a-f]{32,}(?![0-9A-Za-z])"  # key ids, nonces, digests
    r"|(?<![0-9A-Za-z+/])[A-Za-z0-9+/]{43}=(?![0-9A-Za-z+/=])"  # base64 Ed25519 public keys
)
_JOIN = re.compile(r"(?<=\d)[ \u00a0\-](?=\d)")  # 5201 2219 8001 → 520122198001
_ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])\d{16,19}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])0\d{2,3}-\d{7,8}(?![0-9A-Za-z])")
_MASKED = re.compile(r"\d{2,}[*＊×•]{3,}|[*＊×•]{3,}\d{2,}")
_ADDRESS = re.compile(r"(?:组|路|街|巷|栋|单元)\d{1,4}号")
_DIGITS = re.compile(r"\d+[Xx]?")
_HAN = re.compile(r"[\u3400-\u9fff·]+")
_PLACE = re.compile(r"息烽县[^\s\"',，;；]*?号")


@dataclass
class Secrets:
    """What the demo knows about its people, which must never show in public."""

    names: set[str] = field(default_factory=set)
    id_numbers: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    protected: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_auditor_list(cls, listing: dict[str, Any], donors: list[str] = ()) -> Secrets:  # type: ignore[assignment]
        found = cls(names=set(donors))
        for person in listing["rows"]:
            for key, into in (("name", found.names), ("id_number", found.id_numbers),
                              ("phone", found.phones), ("address", found.addresses),
                              ("bank_account", found.accounts)):  # fmt: skip
                if person.get(key):
                    into.add(person[key])
            if person["protected"]:
                found.protected.append(person)
        return found

    def id_pieces(self, length: int) -> set[str]:
        return {n[i : i + length] for n in self.id_numbers for i in range(len(n) - length + 1)}


def demo_secrets(app: Ledger, settings: Settings) -> Secrets:
    """The demo's people (from the auditor's list) and the donors named only in sealed parts."""
    services = bootstrap(settings)
    try:
        listing = auditor_list(services.read_models(), services.ledger, Filters())
    finally:
        services.close()
    digests, start = [], 1
    while page := app.recorder.select_notifications(start=start, limit=2000):
        for notification in page:
            payload = payload_of(vars(app.mapper.to_domain_event(notification))["signed"])
            if payload["cmd"] == "donation.receive" and payload["sealed"]:
                digests.append(payload["sealed"])
        start = page[-1].id + 1
    donors = [o.part.data["donor_name"] for o in app.open_sealed(digests).values() if o.part is not None]
    return Secrets.from_auditor_list(listing, donors)


def _village(address: str | None) -> str | None:
    match = re.search(r"流长镇(.+?(?:村|社区))", address or "")
    return match.group(1) if match else None


def _records(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _records(item)
    elif isinstance(value, list):
        for item in value:
            yield from _records(item)


def scan(text: str, secrets: Secrets) -> list[str]:
    """Every leak in ``text``, each as a short description (never the value)."""
    found: list[str] = []
    text = _CRYPTO.sub("#", text)
    joined = _JOIN.sub("", text)
    checks = ((_ID18, "an 18-digit resident ID number"), (_ID15, "a 15-digit resident ID number"),
              (_CARD, "a bank-card-like number"), (_MOBILE, "a mobile phone number"))  # fmt: skip
    for pattern, what in checks:
        found += [what] * len(pattern.findall(joined))
    found += ["a landline phone number"] * len(_LANDLINE.findall(text))
    found += ["a masked number (a fragment of an ID number)"] * len(_MASKED.findall(text))
    found += ["a house address"] * len(_ADDRESS.findall(text))
    pieces = secrets.id_pieces(8)
    for run in _DIGITS.findall(joined):
        run = run.upper()
        for what, values in (("a demo ID number", secrets.id_numbers), ("a demo phone", secrets.phones),
                             ("a demo bank card", secrets.accounts)):  # fmt: skip
            if any(value in run for value in values) if len(run) > 19 else run in values:
                found.append(what)
        if any(run[i : i + 8] in pieces for i in range(len(run) - 7)):
            found.append("an 8-digit piece of a demo ID number")
    lengths = {len(name) for name in secrets.names}
    for han in _HAN.findall(text):
        for size in lengths:
            found += ["a demo person's name" for i in range(len(han) - size + 1)
                      if han[i : i + size] in secrets.names]  # fmt: skip
    found += ["a demo address" for a in _PLACE.findall(text) if a in secrets.addresses]
    for person in secrets.protected:
        if person["pseudonym"] in text:
            found.append("a protected recipient's pseudonym")
        found += _protected_amounts(text, person)
    return found


def _protected_amounts(text: str, person: dict[str, Any]) -> list[str]:
    """A protected recipient's village next to what they were paid (in one record or line)."""
    village = _village(person.get("address"))
    if village is None or not person["amount_fen"]:
        return []
    amount, label = person["amount_fen"], person["category_label"]
    hits = []
    try:
        records = list(_records(json.loads(text)))
    except ValueError:
        records = []
    for record in records:
        if record.get("village") == village and record.get("category") == person["category"] and (
            record.get("amount_fen") == amount or record.get("amount") == amount
        ):
            hits.append("a protected recipient's village with their amount")
    for line in text.splitlines():
        if village in line and label in line and format_yuan(amount) in line:
            hits.append("a protected recipient's village with their amount")
    return hits

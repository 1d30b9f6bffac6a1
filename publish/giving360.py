"""The 360Giving data package (360Giving Data Standard 1.4): payments to people as grants to
individuals, aggregated so that no one can be picked out.

The standard's guidance for grants to individuals: the recipient is named "Individual Recipient"
with an identifier that says nothing about the person, and the location is given only at a coarse
level. Here a **grant** is the payments of one relief program in one village in one month:

* recipient ``{"id": <grant id>-IND, "name": "Individual Recipient"}`` — the group's identifier,
  never a person's pseudonym (that would tie the grant to the published log's records);
* ``beneficiaryLocation``: the town and village (no finer), ``locationScope`` GLS060 (local area);
* a village with fewer than ``MIN_GROUP`` people paid by the program that month is not named: its
  payments join the program's town-level grant for the month ("其他村合计");
* protected recipients (minors, HIV/AIDS, anyone confidential) are only in one "withheld" grant
  per month for the whole town — no village, no program, no category, no reason: amounts and dates
  only, as the privacy policy publishes them.

``amountAwarded`` = ``amountDisbursed`` = the net amount paid (corrections included: a reversed
payment is taken out of its month), in CNY, written exactly from integer fen; the grants add up to
the money paid out in the portal's flow report. ``toIndividualsDetails`` carries the standard's
reason and purpose codes for each relief category. The funder is the town (``publish.organisation``).
Grant identifiers are ``360G-<org id>-<program>-<YYYY-MM>-<village>`` (``…-其他村`` for the
town-level rest, ``360G-<org id>-WITHHELD-<YYYY-MM>``): stable across checkpoints, since a later
checkpoint only adds payments. A town registered with 360Giving would use its own ``360G-`` prefix.

The individual payments (pseudonym, village, amount) are in the public event bundle anyway; this
file adds nothing that cannot be computed from it, and is shaped for funders' tools. The same
checkpoint gives the same bytes.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ledger.catalogue import CATEGORIES
from projections.flow_sums import monthly_people, summarised
from projections.sql import Database
from publish.books import Stamp
from publish.feed import department_name
from publish.labels import Labels
from publish.organisation import Organisation

VERSION = "1.4"
MIN_GROUP = 3  # fewer people than this in a village and month: the village is not named
OTHER_VILLAGES = "其他村"
# 360Giving codelists grantToIndividualsReason (GTIR…) and grantToIndividualsPurpose (GTIP…).
REASONS = {
    "dibao": "GTIR010", "tekun": "GTIR010", "temporary": "GTIR010", "elderly": "GTIR010",
    "family_planning": "GTIR010", "orphans": "GTIR050", "children": "GTIR010",
    "disability": "GTIR020", "disease_relief": "GTIR030", "health_poverty": "GTIR030",
    "employment": "GTIR070", "disaster_relief": "GTIR100", "emergency_response": "GTIR100",
    "reconstruction": "GTIR100", "compulsory_education": "GTIR110", "preschool": "GTIR110",
    "culture_facilities": "GTIR120", "culture_services": "GTIR120",
}  # fmt: skip
PURPOSES = {
    "disease_relief": "GTIP120", "health_poverty": "GTIP120", "employment": "GTIP140",
    "compulsory_education": "GTIP130", "preschool": "GTIP130", "reconstruction": "GTIP060",
    "disaster_relief": "GTIP170", "emergency_response": "GTIP170",
}  # fmt: skip
DEFAULT_PURPOSE = "GTIP010"  # cash allowances: unrestricted


class _Group:
    """The payments of one grant, summed."""

    def __init__(self) -> None:
        self.first, self.last = "9999-99-99", "0000-00-00"
        self.fen = self.payments = self.people = 0

    def add(self, first: str, last: str, fen: int, payments: int, people: int) -> None:
        self.first, self.last = min(self.first, first), max(self.last, last)
        self.fen += fen
        self.payments += payments
        self.people += people


def grants_package(db: Database, stamp: Stamp, org: Organisation) -> bytes:
    """The 360Giving JSON package of every payment up to ``stamp``'s checkpoint."""
    programs = {str(r[0]): {"name": r[1], "category": r[2], "department": r[3]} for r in db.query(
        "SELECT code, name, category, department FROM gk_flow_accounts WHERE kind = 'program'")}  # fmt: skip
    src = summarised(db)
    paid = "" if src.summed else ", COUNT(DISTINCT recipient)"
    rows = db.query(
        f"SELECT program, substr(day, 1, 7), protected, village, MIN(day), MAX(day), SUM(amount), {src.signs}"
        f"{paid} FROM {src.table} WHERE kind = 'disbursement' GROUP BY program, substr(day, 1, 7), protected, village"
    )
    if src.summed:
        people = monthly_people(db)
        rows = [(*row, people.get(tuple(row[:4]), 0)) for row in rows]
    groups: dict[tuple[str, str, str], _Group] = {}  # (program or "", month, village or "") -> sums
    for program, month, protected, village, first, last, fen, payments, people in rows:
        if protected:
            key = ("", str(month), "")
        elif village is None or int(people) < MIN_GROUP:
            key = (str(program), str(month), OTHER_VILLAGES)
        else:
            key = (str(program), str(month), str(village))
        groups.setdefault(key, _Group()).add(str(first), str(last), int(fen), int(payments), int(people))
    grants = [_grant(key, group, programs, stamp, org) for key, group in sorted(groups.items())
              if group.fen != 0]  # fmt: skip
    cp = stamp.to_json()
    package = {
        "version": VERSION,
        "title": f"{stamp.jurisdiction}救助金发放（按项目、村和月份汇总）",
        "description": (f"{org.name}向个人发放的救助金，按救助项目、村和月份汇总，不含任何个人信息；受保护对象"
                        f"每月全镇合计一项。依据日志 {cp['origin']} 检查点（{cp['size']} 条，根 {cp['root']}）生成。"
                        " Relief payments to individuals, aggregated by program, village and month."),
        "identifier": f"{org.ref}-360giving",
        "issued": stamp.log_time[:10] or stamp.day.isoformat(),
        "publisher": {"identifier": org.ref, "name": org.name},
        "checkpoint": cp,
        "grants": grants,
    }  # fmt: skip
    if stamp.log_time:
        package["modified"] = stamp.log_time
    return (encode(package) + "\n").encode("utf-8")


def _grant(key: tuple[str, str, str], group: _Group, programs: dict[str, dict[str, Any]], stamp: Stamp,
           org: Organisation) -> dict[str, Any]:  # fmt: skip
    program, month, village = key
    year, mon = (int(p) for p in month.split("-"))
    amount = Decimal(group.fen).scaleb(-2)
    funder: dict[str, Any] = {"id": org.ref, "name": org.name}
    if not program:
        grant_id = f"360G-{org.ref}-WITHHELD-{month}"
        title = f"受保护对象救助金合计（依法不公开明细）：{year}年{mon}月"
        description = (f"{stamp.jurisdiction}全镇受保护对象{year}年{mon}月领取的救助金合计，{group.payments}笔。"
                       "依法不公开村、项目和类别。")  # fmt: skip
        details: dict[str, Any] = {}
    else:
        p = programs.get(program, {"name": program, "category": None, "department": None})
        where = "其他村合计（每村不足3人）" if village == OTHER_VILLAGES else village
        grant_id = f"360G-{org.ref}-{program}-{month}-{village}"
        title = f"{p['name']}：{where}，{year}年{mon}月"
        label = Labels("zh").category(p["category"])
        description = (f"{stamp.jurisdiction}{'' if village == OTHER_VILLAGES else village}{group.people}名个人"
                       f"受助者{year}年{mon}月领取的{label}，{group.payments}笔；按项目、村和月份汇总，不含个人信息。")  # fmt: skip
        if p["department"]:
            funder["department"] = department_name(stamp.jurisdiction, Labels("zh").department(p["department"]))
        details = {
            "grantProgramme": [{"code": program, "title": p["name"]}],
            "classifications": [{"vocabulary": "gongkai:category", "code": p["category"],
                                 "title": CATEGORIES[p["category"]][1]}] if p["category"] in CATEGORIES else [],
            "toIndividualsDetails": {"primaryGrantReason": REASONS.get(p["category"], "GTIR010"),
                                     "grantPurpose": [PURPOSES.get(p["category"], DEFAULT_PURPOSE)]},
        }  # fmt: skip
    location = stamp.jurisdiction if village in ("", OTHER_VILLAGES) else f"{stamp.jurisdiction}{village}"
    grant: dict[str, Any] = {
        "id": grant_id,
        "title": title,
        "description": description,
        "currency": "CNY",
        "amountAwarded": amount,
        "amountDisbursed": amount,
        "awardDate": group.first,
        "actualDates": [{"startDate": group.first, "endDate": group.last}],
        "recipientIndividual": {"id": f"{grant_id}-IND", "name": "Individual Recipient"},
        "beneficiaryLocation": [{"name": location, "countryCode": "CN"}],
        "locationScope": "GLS060",
        "fundingOrganization": [funder],
        **{k: v for k, v in details.items() if v},
    }  # fmt: skip
    if stamp.log_time:
        grant["dateModified"] = stamp.log_time
    return grant


def encode(value: Any, indent: int = 0) -> str:
    """JSON with one space of indent per level, money as exact decimals (``Decimal``), no floats."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {encode(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{encode(v, indent + 1)}" for v in value) + f"\n{pad}]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        raise TypeError("no floats: money is written from integer fen as a Decimal")
    return json.dumps(value, ensure_ascii=False)

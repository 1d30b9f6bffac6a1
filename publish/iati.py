"""The IATI activity file (IATI Standard 2.03): the town's money as activities and transactions.

**Activities.** One ``iati-activity`` per fund (资金, ``hierarchy="1"``) and one per relief program
(救助项目, ``hierarchy="2"``), each once money has moved through it. That is how an IATI reader
sees a pooled fund that finances projects (as UN pooled funds publish): the fund activity shows
where the money came from and what it committed; the program activity shows what was paid out.
Their transactions name each other with ``provider-activity-id`` / ``receiver-activity-id``, so a
reader can follow the money from a donor to the recipients. Identifiers:
``<org>-FUND-<code>`` and ``<org>-PROG-<code>``, ``<org>`` being the reporting organisation's
identifier (``publish.organisation``).

**Transactions** (IATI TransactionType codes), from the flows read model, as a historic record:

====================================  ===========================================================
donation (money) / appropriation      1 Incoming Funds, on the fund (``ref``: receipt / document no.)
pledge                                12 Incoming Pledge, on the fund (never counted as received)
allocation fund → program             2 Outgoing Commitment on the fund, 11 Incoming Commitment on the
                                      program
transfer fund → fund                  2 Outgoing Commitment on the giving fund, 11 on the receiving one
disbursements                         3 Disbursement, on the program, **aggregated per month** to
                                      "个人受助者" (individual recipients): no person, pseudonym or
                                      village is ever named
====================================  ===========================================================

Internal movements are commitments, never Incoming Funds or Disbursements, so — as with the
FTS boundary of the portal's flow report — the type 1 total of the file is the money received
and the type 3 total the money paid out; nothing is counted twice. A correction (更正) is never
an edit: the original's amount comes back negated (a reversal) and the restated amount follows,
each dated with the movement they restate and described as a correction. Goods are not here
(IATI values are money); the goods ledger is in ``data/tables/goods*.csv``.

Donors: organisations are named only with their consent; individuals are never named (a consent
to be thanked on the town's notice board is not one to be in an international data feed).
Amounts are CNY (``default-currency``), written exactly from integer fen. The file states the
checkpoint it was built from in an extension element (allowed by the schema) and depends on
nothing but the read models: the same checkpoint gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

from ledger.catalogue import APPROPRIATION_LEVELS
from projections.flow_sums import summarised
from projections.sql import Database
from publish.books import Stamp
from publish.feed import department_name
from publish.labels import Labels
from publish.organisation import Organisation

VERSION = "2.03"
CHECKPOINT_NS = "urn:x-gongkai:checkpoint"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
INCOMING_FUNDS, OUTGOING_COMMITMENT, DISBURSEMENT = "1", "2", "3"
INCOMING_COMMITMENT, INCOMING_PLEDGE = "11", "12"
LOCAL_GOVERNMENT, GOVERNMENT, NATIONAL_NGO, PRIVATE_SECTOR = "11", "10", "22", "70"
# OECD DAC 5-digit purpose codes (IATI Sector vocabulary 1) of the plan's relief categories.
SECTORS = {
    "dibao": "16010", "tekun": "16010", "temporary": "16010", "elderly": "16010",
    "disability": "16010", "children": "16010", "orphans": "16010", "family_planning": "16010",
    "employment": "16020", "disaster_relief": "72010", "emergency_response": "72010",
    "reconstruction": "73010", "compulsory_education": "11220", "preschool": "11240",
    "disease_relief": "12191", "health_poverty": "12220", "culture_facilities": "16061",
    "culture_services": "16061",
}  # fmt: skip
_DONOR_TYPES = {"enterprise": PRIVATE_SECTOR, "social_organisation": NATIONAL_NGO}
_MONEY = ("donation", "appropriation", "pledge", "transfer", "allocation")


def yuan(fen: int) -> str:
    """Integer fen as an exact decimal of yuan: -12345 → ``-123.45``."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def activity_id(org: Organisation, kind: str, code: str) -> str:
    return f"{org.ref}-{'FUND' if kind == 'fund' else 'PROG'}-{code}"


class _Activity:
    """One fund or program and its transactions, gathered before writing."""

    def __init__(self, account: dict[str, Any]) -> None:
        self.account = account
        self.rows: list[tuple[str, str, str, int, dict[str, Any]]] = []  # day, type, ref, fen, parts

    def add(self, day: str, code: str, fen: int, ref: str = "", **parts: Any) -> None:
        self.rows.append((day, code, ref, fen, parts))


def iati_activities(db: Database, stamp: Stamp, org: Organisation) -> bytes:
    """The IATI activity XML of everything up to ``stamp``'s checkpoint."""
    accounts = {(r[0], r[1]): {"kind": r[0], "code": r[1], "name": r[2], "area": r[3], "category": r[4],
                               "department": r[5]}
                for r in db.query("SELECT kind, code, name, area, category, department FROM gk_flow_accounts")}  # fmt: skip
    activities: dict[tuple[str, str], _Activity] = {}

    def of(kind: str, code: str) -> _Activity:
        key = (kind, code)
        if key not in activities:
            activities[key] = _Activity(accounts.get(key) or {"kind": kind, "code": code, "name": code,
                                                             "area": None, "category": None,
                                                             "department": None})  # fmt: skip
        return activities[key]

    _money_rows(db, org, of)
    _disbursements(db, of)
    root = ET.Element("iati-activities", {"version": VERSION})
    if stamp.log_time:
        root.set("generated-datetime", stamp.log_time)
    zh = Labels("zh")
    for key in sorted(activities, key=lambda k: (k[0] != "fund", k[1])):
        _write_activity(root, activities[key], org, stamp, zh)
    ET.SubElement(root, f"{{{CHECKPOINT_NS}}}checkpoint", {"origin": stamp.origin, "size": str(stamp.size),
                                                           "root": stamp.root_b64, "log-time": stamp.log_time})  # fmt: skip
    ET.register_namespace("gk", CHECKPOINT_NS)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body + b"\n"


def _correction(fen: int, correction: int) -> dict[str, Any]:
    if not correction:
        return {}
    return {"note": ("更正：冲销原记录", "Correction: reversal of the original record") if fen < 0
            else ("更正：更正后的记录", "Correction: the record as restated")}  # fmt: skip


def _money_rows(db: Database, org: Organisation, of: Callable[[str, str], _Activity]) -> None:
    rows = db.query(
        "SELECT kind, day, fund, dest, donor_class, donor_name, level, receipt_no, document_no, "
        f"amount, correction FROM gk_flows WHERE quantity = 0 AND kind IN ({', '.join('?' for _ in _MONEY)}) "
        "AND fund IS NOT NULL ORDER BY position, seq",
        _MONEY,
    )
    for kind, day, fund, dest, donor_class, donor_name, level, receipt, document, amount, corr in rows:
        fen = int(amount)
        parts = _correction(fen, corr)
        if kind in ("donation", "pledge"):
            named = donor_class in _DONOR_TYPES and donor_name
            donor = {"type": _DONOR_TYPES.get(donor_class),
                     "name": donor_name if named else f"{Labels('zh').donor_class(donor_class)}捐赠者"}  # fmt: skip
            code = INCOMING_FUNDS if kind == "donation" else INCOMING_PLEDGE
            of("fund", fund).add(day, code, fen, receipt or "", provider=donor, **parts)
        elif kind == "appropriation":
            government = {"type": GOVERNMENT if level == "central" else LOCAL_GOVERNMENT,
                          "name": f"{APPROPRIATION_LEVELS.get(level, level)}财政"}  # fmt: skip
            of("fund", fund).add(day, INCOMING_FUNDS, fen, document or "", provider=government, **parts)
        else:
            to_kind, _, to_code = str(dest).partition(":")
            giver, taker = activity_id(org, "fund", fund), activity_id(org, to_kind, to_code)
            of("fund", fund).add(day, OUTGOING_COMMITMENT, fen, receiver_activity=taker, **parts)
            of(to_kind, to_code).add(day, INCOMING_COMMITMENT, fen, provider_activity=giver, **parts)


def _disbursements(db: Database, of: Callable[[str, str], _Activity]) -> None:
    """Payments to people, per program and month; reversals and restatements apart."""
    src = summarised(db)
    rows = db.query(
        f"SELECT program, substr(day, 1, 7), correction, {src.negative}, MAX(day), SUM(amount), {src.rows} "
        f"FROM {src.table} WHERE kind = 'disbursement' "
        f"GROUP BY program, substr(day, 1, 7), correction, {src.negative} ORDER BY program, 2, 3, 4"
    )
    for program, month, corr, _negative, last, fen, count in rows:
        if int(fen) == 0:
            continue
        year, mon = (int(p) for p in str(month).split("-"))
        what = ((f"{year}年{mon}月发放的更正，{count}笔", f"Corrections of the payments of {month}: {count}")
                if corr else (f"{year}年{mon}月发放，{count}笔", f"Payments of {month}: {count}"))  # fmt: skip
        of("program", program).add(last, DISBURSEMENT, int(fen), receiver=True, what=what,
                                   **_correction(int(fen), corr))  # fmt: skip


def _narratives(parent: ET.Element, zh: str, en: str | None = None) -> None:
    ET.SubElement(parent, "narrative").text = zh
    if en:
        ET.SubElement(parent, "narrative", {XML_LANG: "en"}).text = en


def _write_activity(root: ET.Element, activity: _Activity, org: Organisation, stamp: Stamp, zh: Labels) -> None:
    a = activity.account
    fund = a["kind"] == "fund"
    attrs = {XML_LANG: "zh", "default-currency": "CNY", "hierarchy": "1" if fund else "2"}
    if stamp.log_time:
        attrs["last-updated-datetime"] = stamp.log_time
    if a["area"] == "disaster" or a["category"] in ("disaster_relief", "emergency_response"):
        attrs["humanitarian"] = "1"
    el = ET.SubElement(root, "iati-activity", attrs)
    ET.SubElement(el, "iati-identifier").text = activity_id(org, a["kind"], a["code"])
    _narratives(ET.SubElement(el, "reporting-org", {"ref": org.ref, "type": LOCAL_GOVERNMENT}), org.name)
    _narratives(ET.SubElement(el, "title"), str(a["name"]),
                f"{'Fund' if fund else 'Relief program'} {a['code']} of {stamp.jurisdiction}")  # fmt: skip
    department = department_name(stamp.jurisdiction, zh.department(a["department"])) if a["department"] else ""
    category = zh.category(a["category"])
    _narratives(ET.SubElement(el, "description", {"type": "1"}),
                (f"{department or org.name}管理的{category}资金，接收捐赠和拨款并拨付救助项目。" if fund
                 else f"{department or org.name}实施的{category}救助项目，按月向个人受助者发放。"),
                ("A fund that receives donations and appropriations and commits them to relief programs."
                 if fund else "A relief program paying individual recipients, reported per month."))  # fmt: skip
    _narratives(ET.SubElement(el, "participating-org", {"ref": org.ref, "role": "2", "type": LOCAL_GOVERNMENT}),
                org.name)  # fmt: skip
    if department:
        _narratives(ET.SubElement(el, "participating-org", {"role": "4", "type": LOCAL_GOVERNMENT}), department)
    ET.SubElement(el, "activity-status", {"code": "2"})  # implementation
    ET.SubElement(el, "activity-date", {"type": "2", "iso-date": min(r[0] for r in activity.rows)})
    ET.SubElement(el, "activity-scope", {"code": "8"})  # a single location: the town
    ET.SubElement(el, "recipient-country", {"code": "CN", "percentage": "100"})
    if a["category"] in SECTORS:
        _narratives(ET.SubElement(el, "sector", {"vocabulary": "1", "code": SECTORS[a["category"]],
                                                 "percentage": "100"}), category)  # fmt: skip
    for day, code, ref, fen, parts in sorted(activity.rows, key=lambda r: (r[0], r[1], r[2], r[3])):
        _write_transaction(el, day, code, ref, fen, parts, org)


def _write_transaction(parent: ET.Element, day: str, code: str, ref: str, fen: int, parts: dict[str, Any],
                       org: Organisation) -> None:  # fmt: skip
    el = ET.SubElement(parent, "transaction", {"ref": ref} if ref else {})
    ET.SubElement(el, "transaction-type", {"code": code})
    ET.SubElement(el, "transaction-date", {"iso-date": day})
    ET.SubElement(el, "value", {"currency": "CNY", "value-date": day}).text = yuan(fen)
    texts = [t for t in (parts.get("what"), parts.get("note")) if t]
    if texts:
        _narratives(ET.SubElement(el, "description"), "；".join(t[0] for t in texts),
                    "; ".join(t[1] for t in texts))  # fmt: skip
    if "provider" in parts:
        who = parts["provider"]
        _narratives(ET.SubElement(el, "provider-org", {"type": who["type"]} if who["type"] else {}), who["name"])
    if "provider_activity" in parts:
        _narratives(ET.SubElement(el, "provider-org", {"ref": org.ref, "provider-activity-id": parts["provider_activity"],
                                                       "type": LOCAL_GOVERNMENT}), org.name)  # fmt: skip
    if "receiver_activity" in parts:
        _narratives(ET.SubElement(el, "receiver-org", {"ref": org.ref, "receiver-activity-id": parts["receiver_activity"],
                                                       "type": LOCAL_GOVERNMENT}), org.name)  # fmt: skip
    if parts.get("receiver"):
        _narratives(ET.SubElement(el, "receiver-org"), "个人受助者（按月汇总）", "Individual recipients (aggregated by month)")

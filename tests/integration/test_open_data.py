"""The IATI and 360Giving exports of a small town, on SQLite and PostgreSQL: they validate
against the official schemas, add up to the fund-flow report, show corrections as reversals,
and name no person, pseudonym or small village."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from ledger import ids
from projections.log_clock import log_time
from projections.merkle_log import MerkleProjection, tree, tree_size
from projections.replay import scratch_as_of
from projections.reports import Scope, flow_report
from projections.runner import Runner
from projections.sql import Database
from publish.books import Stamp
from publish.giving360 import MIN_GROUP, grants_package
from publish.iati import iati_activities
from publish.organisation import DEMO_ORG_ID, Organisation
from publish.site import site_projections
from tests.builders import (
    DATE,
    Town,
    allocation,
    correction,
    disbursement,
    money_donation,
    transfer,
)
from tests.open_data_schemas import giving360_errors, iati_errors

PROTECTED = {"program": "P-FLOOD", "amount": 12_000, "date": DATE, "protected": True}


@pytest.fixture
def live(database_url: str) -> Any:
    database = Database(database_url)
    yield database
    database.close()


def a_year(town: Town) -> None:
    """Donations (one corrected), an appropriation, a transfer, allocations, payments to three
    people of 流长村 (one reversed), one of 马场村 and one protected recipient, and a pledge."""
    rec = town.recorder
    town.submit(rec, "donation.receive", money_donation(100_000))
    town.submit(rec, "donation.receive", money_donation(50_000, receipt_no="R2026-0002"))
    donation = ids.donation_id(town.jurisdiction, "R2026-0002")
    town.submit(rec, "correction.record", correction(town.app, donation, 1,
                replacement=money_donation(40_000, receipt_no="R2026-0002")))  # fmt: skip
    town.submit(rec, "appropriation.receive", {"document_no": "息财社〔2026〕12号", "level": "county",
                                               "fund": "F-DIBAO", "amount": 300_000, "date": DATE})  # fmt: skip
    town.submit(rec, "transfer.make", transfer(20_000, from_fund="F-DISASTER", to_fund="F-DIBAO"))
    town.submit(rec, "allocation.make", allocation(90_000))
    town.submit(rec, "allocation.make", allocation(200_000, fund="F-DIBAO", program="P-DIBAO"))
    for pseudonym in ("R-7K2Q9D", "R-3M8XPA", "R-9T4WQE"):
        town.submit(rec, "disbursement.make", disbursement(10_000, recipient=pseudonym))
    paid = town.submit(rec, "disbursement.make", disbursement(5_000, recipient="R-3M8XPA"))
    town.submit(rec, "correction.record", correction(town.app, uuid.UUID(paid.targets[0]), paid.versions[0]))
    town.submit(rec, "disbursement.make", dict(disbursement(7_000, recipient="R-6HJ2KD"), village="马场村"))
    town.submit(rec, "disbursement.make", PROTECTED)
    town.submit(rec, "pledge.record", {"pledge_no": "P2026-001", "fund": "F-DISASTER", "donor_class": "individual",
                                       "consent": False, "amount": 9_900, "date": DATE})  # fmt: skip


def exports(town: Town, live: Database) -> tuple[bytes, bytes, dict[str, Any]]:
    """The IATI file, the 360Giving package and the flow report, as of the current checkpoint."""
    Runner(town.app, live, [MerkleProjection()]).catch_up()
    size = tree_size(live)
    with scratch_as_of(town.app, live, size, site_projections()) as db:
        stamp = Stamp(town.jurisdiction, "gongkai/流长镇", size, tree(live, size).root(), log_time(db) or "")
        org = Organisation.of_town(town.jurisdiction)
        return iati_activities(db, stamp, org), grants_package(db, stamp, org), flow_report(db, Scope())


def fen(text: str | None) -> int:
    return int(Decimal(str(text)) * 100)


def transactions(xml: bytes) -> list[tuple[str, str, int, ET.Element]]:
    """(activity id, transaction type, value in fen, element) of every transaction."""
    root = ET.fromstring(xml)
    return [(str(a.findtext("iati-identifier")), str(t.find("transaction-type").attrib["code"]),  # type: ignore[union-attr]
             fen(t.findtext("value")), t)
            for a in root.iter("iati-activity") for t in a.iter("transaction")]  # fmt: skip


@pytest.fixture
def exported(town: Town, live: Database) -> tuple[bytes, bytes, dict[str, Any]]:
    a_year(town)
    return exports(town, live)


def test_the_iati_file_validates_against_the_iati_2_03_schema(exported: tuple[bytes, bytes, dict[str, Any]]) -> None:
    assert iati_errors(exported[0]) == []


def test_iati_funds_in_and_payments_out_equal_the_flow_report_and_internal_moves_are_commitments(
    exported: tuple[bytes, bytes, dict[str, Any]],
) -> None:
    xml, _, report = exported
    rows = transactions(xml)
    total = {code: sum(v for _, c, v, _ in rows if c == code) for code in ("1", "2", "3", "11", "12")}
    assert total["1"] == report["totals"]["incoming"] == 100_000 + 40_000 + 300_000
    assert total["3"] == report["totals"]["outgoing"] == 30_000 + 7_000 + 12_000
    assert total["12"] == report["pledged"]["total"] == 9_900
    assert total["2"] == total["11"] == 20_000 + 90_000 + 200_000  # each internal move once out, once in
    ids_ = {str(a.findtext("iati-identifier")) for a in ET.fromstring(xml).iter("iati-activity")}
    assert ids_ == {f"{DEMO_ORG_ID}-{k}" for k in ("FUND-F-DISASTER", "FUND-F-DIBAO", "PROG-P-FLOOD", "PROG-P-DIBAO")}
    linked = {org.attrib[a] for _, _, _, t in rows for org in t for a in ("provider-activity-id", "receiver-activity-id")
              if a in org.attrib}  # fmt: skip
    assert linked and linked <= ids_


def test_iati_shows_a_correction_as_a_reversal_and_a_restatement(exported: tuple[bytes, bytes, dict[str, Any]]) -> None:
    rows = transactions(exported[0])
    corrected = sorted(v for _, c, v, t in rows if c == "1" and t.attrib.get("ref") == "R2026-0002")
    assert corrected == [-50_000, 40_000, 50_000]
    payments = sorted(v for _, c, v, _ in rows if c == "3")
    assert -5_000 in payments  # the reversed payment, never an edit of the month's total
    notes = [str(t.findtext("description/narrative")) for _, _, v, t in rows if v < 0]
    assert notes and all("更正" in n for n in notes)


def test_iati_names_no_person_pseudonym_or_village(exported: tuple[bytes, bytes, dict[str, Any]]) -> None:
    text = exported[0].decode("utf-8")
    for secret in ("R-7K2Q9D", "R-3M8XPA", "R-9T4WQE", "R-6HJ2KD", "流长村", "马场村"):
        assert secret not in text
    assert "个人受助者（按月汇总）" in text


def test_the_360giving_package_validates_against_its_schema(exported: tuple[bytes, bytes, dict[str, Any]]) -> None:
    assert giving360_errors(exported[1]) == []


def test_360giving_grants_add_up_to_the_payments_and_name_only_groups(exported: tuple[bytes, bytes, dict[str, Any]]) -> None:
    _, data, report = exported
    grants = json.loads(data, parse_float=Decimal)["grants"]
    assert sum(fen(str(g["amountAwarded"])) for g in grants) == report["totals"]["outgoing"]
    assert {g["recipientIndividual"]["name"] for g in grants} == {"Individual Recipient"}
    by_place = {g["beneficiaryLocation"][0]["name"]: g for g in grants if "WITHHELD" not in g["id"]}
    assert fen(str(by_place["流长镇流长村"]["amountAwarded"])) == 30_000  # three people: named
    assert fen(str(by_place["流长镇"]["amountAwarded"])) == 7_000  # one person: the village is not named
    assert "马场村" not in data.decode("utf-8")
    assert MIN_GROUP == 3


def test_360giving_shows_protected_recipients_only_in_a_town_wide_withheld_grant(
    exported: tuple[bytes, bytes, dict[str, Any]],
) -> None:
    _, data, report = exported
    [withheld] = [g for g in json.loads(data, parse_float=Decimal)["grants"] if "WITHHELD" in g["id"]]
    assert fen(str(withheld["amountAwarded"])) == report["recipients"]["withheld"]["amount"] == 12_000
    assert withheld["beneficiaryLocation"] == [{"name": "流长镇", "countryCode": "CN"}]
    assert "grantProgramme" not in withheld and "toIndividualsDetails" not in withheld
    for pseudonym in ("R-7K2Q9D", "R-3M8XPA", "R-9T4WQE", "R-6HJ2KD"):
        assert pseudonym not in data.decode("utf-8")


def test_the_exports_are_the_same_bytes_for_the_same_checkpoint(town: Town, live: Database) -> None:
    a_year(town)
    first = exports(town, live)
    again = exports(town, live)
    assert first[:2] == again[:2]

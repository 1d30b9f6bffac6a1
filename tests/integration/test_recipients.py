"""The recipient registry on both backends: personal data sealed and encrypted per person,
refusals that never repeat an ID number, lists by audience that reconcile, and erasure by
destroying a person's key while the log keeps verifying."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from ledger.commands import Command, SignedCommand, payload_of
from ledger.errors import (
    AlreadyExists,
    MalformedCommand,
    RecipientError,
    WrongDepartment,
    WrongRole,
)
from ledger.sealing import SealedPart
from projections.audit import verify
from projections.balances import BalancesProjection, accounts
from projections.recipient_lists import Filters, auditor_list, public_list, village_list
from projections.recipients import RecipientsProjection
from projections.runner import Runner
from projections.sql import Database
from tests.builders import Town, allocation, correction, money_donation, refusal
from tests.people import (
    PROTECTED_PSEUDONYM,
    erasure,
    mistyped,
    payment,
    person,
    registration,
    resident_id,
)

ZHANG = person("张三明", household_size=3)
LI = person("李红梅", born=date(1958, 9, 2), household_size=1)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.close()


@pytest.fixture
def funded(town: Town) -> Town:
    """The standard town with ¥5,000 in the 低保 program."""
    town.submit(town.recorder, "donation.receive", money_donation(1_000_000, fund="F-DIBAO"))
    town.submit(town.recorder, "allocation.make", allocation(500_000, fund="F-DIBAO", program="P-DIBAO"))
    return town


@pytest.fixture
def paid(funded: Town) -> Town:
    """Two listed recipients and one protected child, each registered and paid in July."""
    app, recorder = funded.app, funded.recorder
    app.submit(registration(recorder, "R-7K2Q9D", ZHANG))
    app.submit(registration(recorder, "R-4M8WT3", LI, village="马场村"))
    child = person("王小花", born=date(2016, 5, 1), household_size=2, flags=("minor",))
    app.submit(registration(recorder, PROTECTED_PSEUDONYM, child, protected=True))
    app.submit(payment(recorder, 156_000, "R-7K2Q9D"))
    app.submit(payment(recorder, 52_000, "R-4M8WT3", village="马场村"))
    app.submit(payment(recorder, 30_000, PROTECTED_PSEUDONYM, protected=True))
    return funded


def caught_up(town: Town, db: Database) -> Database:
    Runner(town.app, db, [BalancesProjection(), RecipientsProjection()]).catch_up()
    return db


def public_parts(town: Town) -> str:
    notifications = town.app.recorder.select_notifications(start=1, limit=10_000)
    return "\n".join(str(town.app.mapper.to_domain_event(n).signed) for n in notifications)  # type: ignore[attr-defined]


# --- registration ---------------------------------------------------------------------------


def test_a_registration_publishes_a_pseudonym_and_seals_the_person(funded: Town) -> None:
    funded.app.submit(registration(funded.recorder, "R-7K2Q9D", ZHANG))

    public = public_parts(funded)
    assert "R-7K2Q9D" in public and "流长村" in public
    for personal in (ZHANG["name"], ZHANG["id_number"], ZHANG["phone"], ZHANG["address"]):
        assert personal not in public
    digest = re.findall(r'"sealed":"([0-9a-f]{64})"', public)[-1]
    opened = funded.app.open_sealed([digest])[digest]
    assert opened.subject == "R-7K2Q9D"
    assert opened.part is not None and opened.part.data == ZHANG


def test_the_stored_sealed_part_is_ciphertext(funded: Town) -> None:
    envelope = registration(funded.recorder, "R-7K2Q9D", ZHANG)
    funded.app.submit(envelope)
    digest = Command.parse(envelope).sealed
    assert digest is not None
    _, _, ciphertext = funded.app.sealed_store.find_sealed([digest])[digest]
    assert ZHANG["id_number"].encode() not in ciphertext
    assert ZHANG["name"].encode() not in ciphertext


def test_a_mistyped_id_number_is_refused_without_repeating_it(funded: Town) -> None:
    number = mistyped(ZHANG["id_number"])
    error = refusal(funded, registration(funded.recorder, "R-7K2Q9D", {**ZHANG, "id_number": number}))

    assert isinstance(error, MalformedCommand)
    assert "check digit" in error.message
    fragments = {number[i : i + 4] for i in range(len(number) - 3)}
    assert not [f for f in fragments if f in error.message], "the message repeats the number"
    assert funded.app.open_sealed([]) == {}


def test_a_sealed_part_that_is_not_the_one_signed_is_refused(funded: Town) -> None:
    envelope = registration(funded.recorder, "R-7K2Q9D", ZHANG)
    other = SealedPart.pack("R-7K2Q9D", {**ZHANG, "name": "赵六"})

    swapped = refusal(funded, dataclasses.replace(envelope, sealed=other.raw))
    missing = refusal(funded, dataclasses.replace(envelope, sealed=None))

    assert isinstance(swapped, MalformedCommand) and "does not match" in swapped.message
    assert isinstance(missing, MalformedCommand) and "came without it" in missing.message


def test_a_sealed_part_where_the_policy_allows_none_is_refused(funded: Town) -> None:
    body = {"program": "P-DIBAO", "amount": 1_000, "date": "2026-07-10", "recipient": "R-7K2Q9D",
            "village": "流长村"}  # fmt: skip
    envelope = funded.recorder.sign("disbursement.make", body, sealed={"recipient": "R-7K2Q9D"},
                                    subject="R-7K2Q9D")  # fmt: skip
    error = refusal(funded, envelope)
    assert isinstance(error, MalformedCommand) and "may not carry a sealed part" in error.message


def test_a_pseudonym_registers_once(funded: Town) -> None:
    funded.app.submit(registration(funded.recorder, "R-7K2Q9D", ZHANG))
    error = refusal(funded, registration(funded.recorder, "R-7K2Q9D", LI))
    assert isinstance(error, AlreadyExists)


def test_a_minor_must_be_registered_as_protected(funded: Town) -> None:
    child = person("王小花", born=date(2016, 5, 1))
    error = refusal(funded, registration(funded.recorder, "R-7K2Q9D", child))
    assert isinstance(error, MalformedCommand) and "protected" in error.message


def test_a_protected_registration_shows_no_pseudonym_village_or_person(funded: Town) -> None:
    data = person("刘芳", flags=("hiv",))
    funded.app.submit(registration(funded.recorder, PROTECTED_PSEUDONYM, data, protected=True))
    public = public_parts(funded)
    for trace in (PROTECTED_PSEUDONYM, "流长村", "刘芳", "hiv", data["id_number"]):
        assert trace not in public


def test_a_protected_pseudonym_is_long_enough_not_to_be_guessed(funded: Town) -> None:
    data = person("刘芳", flags=("confidential",))
    error = refusal(funded, registration(funded.recorder, "P-SHORT1", data, protected=True))
    assert isinstance(error, MalformedCommand) and "at least 16" in error.message


def test_a_recorder_of_another_department_cannot_register(funded: Town) -> None:
    error = refusal(funded, registration(funded.other_recorder, "R-7K2Q9D", ZHANG))
    assert isinstance(error, WrongDepartment)


# --- payments -------------------------------------------------------------------------------


def test_a_registered_recipient_is_paid_in_their_own_village(funded: Town) -> None:
    funded.app.submit(registration(funded.recorder, "R-7K2Q9D", ZHANG))
    error = refusal(funded, payment(funded.recorder, 10_000, "R-7K2Q9D", village="马场村"))
    assert isinstance(error, RecipientError) and "流长村" in error.message


def test_a_protected_recipient_is_never_paid_by_name(paid: Town) -> None:
    error = refusal(paid, payment(paid.recorder, 10_000, PROTECTED_PSEUDONYM))
    assert isinstance(error, RecipientError) and "protected" in error.message


def test_a_protected_payment_must_name_a_registered_protected_recipient(paid: Town) -> None:
    error = refusal(paid, payment(paid.recorder, 10_000, "R-7K2Q9D", protected=True))
    assert isinstance(error, RecipientError)


def test_an_unregistered_pseudonym_is_still_paid_as_before(funded: Town) -> None:
    funded.app.submit(payment(funded.recorder, 10_000, "R-NEW001"))
    assert funded.program("P-DIBAO").total == 490_000


def test_a_donor_without_consent_is_named_only_in_a_sealed_part(funded: Town) -> None:
    body = money_donation(50_000, receipt_no="LC2026-000777")
    envelope = funded.recorder.sign("donation.receive", body, sealed={"donor_name": "陈建国"},
                                    subject="donor:LC2026-000777")  # fmt: skip
    funded.app.submit(envelope)
    assert "陈建国" not in public_parts(funded)
    named = funded.recorder.sign("donation.receive", {**body, "receipt_no": "LC2026-000778"},
                                 sealed={"donor_name": "陈建国"}, subject="donor:LC2026-000777")  # fmt: skip
    assert isinstance(refusal(funded, named), MalformedCommand)


# --- lists ----------------------------------------------------------------------------------


def reconciles(listing: dict[str, Any]) -> bool:
    held = listing["withheld"]["amount_fen"]
    return bool(listing["listed_fen"] + listing["other_villages_fen"] + held == listing["total_fen"])


def test_the_public_list_gives_aggregates_and_one_withheld_line(paid: Town, db: Database) -> None:
    listing = public_list(caught_up(paid, db), paid.app, Filters())

    assert [(r["village"], r["recipients"], r["amount_fen"]) for r in listing["rows"]] == [
        ("流长村", 1, 156_000), ("马场村", 1, 52_000)
    ]  # fmt: skip
    assert listing["withheld"] == {"recipients": 1, "amount_fen": 30_000, "scope": "town"}
    assert listing["total_fen"] == 238_000 and reconciles(listing)
    assert "张" not in str(listing) and "R-7K2Q9D" not in str(listing)


def test_the_village_list_shows_masked_names_household_sizes_and_amounts(
    paid: Town, db: Database
) -> None:
    listing = village_list(caught_up(paid, db), paid.app, Filters(village="流长村"))

    assert [(r["name"], r["household_size"], r["amount_fen"]) for r in listing["rows"]] == [
        ("张*明", 3, 156_000)
    ]
    assert set(listing["rows"][0]) == {"village", "category", "category_label", "name",
                                       "household_size", "amount_fen", "status"}  # fmt: skip
    assert listing["other_villages_fen"] == 52_000 and reconciles(listing)
    assert "王" not in str(listing) and "R-" not in str(listing) and "P-" not in str(listing)


def test_withheld_recipients_are_counted_once_however_often_paid(paid: Town, db: Database) -> None:
    paid.app.submit(payment(paid.recorder, 30_000, PROTECTED_PSEUDONYM, protected=True, period="2026-08"))
    paid.app.submit(payment(paid.recorder, 20_000, None, protected=True))
    held = public_list(caught_up(paid, db), paid.app, Filters())["withheld"]
    assert held == {"recipients": 2, "amount_fen": 80_000, "scope": "town"}


def test_the_auditor_list_shows_everyone_in_full(paid: Town, db: Database) -> None:
    listing = auditor_list(caught_up(paid, db), paid.app, Filters())
    people = {r["pseudonym"]: r for r in listing["rows"]}
    assert people["R-7K2Q9D"]["id_number"] == ZHANG["id_number"]
    assert people[PROTECTED_PSEUDONYM]["name"] == "王小花"
    assert people[PROTECTED_PSEUDONYM]["amount_fen"] == 30_000
    assert listing["listed_fen"] == listing["total_fen"] == 238_000


def test_a_list_filters_by_period(paid: Town, db: Database) -> None:
    listing = public_list(caught_up(paid, db), paid.app, Filters(period="2026-08"))
    assert listing["rows"] == [] and listing["total_fen"] == 0


def test_a_corrected_payment_is_listed_at_its_corrected_amount(paid: Town, db: Database) -> None:
    program = paid.program("P-DIBAO").id
    original = payload_of(paid.app.stored_event(program, 3).signed)["body"]  # type: ignore[attr-defined]
    assert original["recipient"] == "R-7K2Q9D"

    paid.submit(paid.recorder, "correction.record",
                correction(paid.app, program, 3, replacement={**original, "amount": 100_000}))  # fmt: skip

    listing = village_list(caught_up(paid, db), paid.app, Filters(village="流长村"))
    assert [r["amount_fen"] for r in listing["rows"]] == [100_000]
    assert reconciles(listing)


def test_the_read_model_holds_nothing_personal(paid: Town, db: Database) -> None:
    caught_up(paid, db)
    rows = [db.query(f"SELECT * FROM {t}") for t in RecipientsProjection.tables]
    text = str(rows)
    for personal in (*ZHANG.values(), *LI.values(), "王小花", PROTECTED_PSEUDONYM):
        if isinstance(personal, str) and personal:
            assert personal not in text


# --- erasure --------------------------------------------------------------------------------


def test_an_erased_recipient_is_gone_and_the_books_still_verify(paid: Town, db: Database) -> None:
    before = [a.to_json() for a in accounts(caught_up(paid, db))]

    paid.app.submit(erasure(paid.admin, "R-7K2Q9D"))
    db = caught_up(paid, db)

    auditor = {r["pseudonym"]: r for r in auditor_list(db, paid.app, Filters())["rows"]}
    assert auditor["R-7K2Q9D"]["status"] == "erased"
    assert auditor["R-7K2Q9D"]["name"] is None and auditor["R-7K2Q9D"]["id_number"] is None
    village = village_list(db, paid.app, Filters(village="流长村"))
    assert [(r["name"], r["status"], r["amount_fen"]) for r in village["rows"]] == [
        (None, "erased", 156_000)
    ]
    assert reconciles(village)
    assert [a.to_json() for a in accounts(db)] == before
    report = verify(paid.app)
    assert report.ok, report.failure


def test_a_deleted_ciphertext_fails_verify_at_the_command_that_names_it(paid: Town, db: Database) -> None:
    """Tampering with SQL: a sealed part's ciphertext deleted from the sealed store. The log is
    intact and every signature holds, but the command names personal data that is gone."""
    assert verify(paid.app).ok
    records = paid.app.recorder.select_notifications(start=1, limit=10_000)
    named = [(n, payload) for n in records if (payload := payload_of(json.loads(n.state)["signed"]))["sealed"]]
    (registered, second) = named[1]  # the second registration's personal data
    assert second["cmd"] == "recipient.register"
    with db.transaction() as cursor:
        cursor.execute("DELETE FROM gk_sealed WHERE digest = ?", (second["sealed"],))
    report = verify(paid.app)
    assert report.failure is not None and report.failure.position == registered.id
    assert report.failure.reason == (
        f"the command names the sealed part {second['sealed']}, whose ciphertext is not in the "
        "sealed store: personal data was deleted"
    )
    assert report.events == len(records)


def test_an_erased_recipient_can_no_longer_be_paid_or_registered_again(paid: Town) -> None:
    paid.app.submit(erasure(paid.admin, "R-7K2Q9D"))
    assert isinstance(refusal(paid, payment(paid.recorder, 1_000, "R-7K2Q9D")), RecipientError)
    assert isinstance(refusal(paid, registration(paid.recorder, "R-7K2Q9D", ZHANG)), AlreadyExists)
    assert isinstance(refusal(paid, erasure(paid.admin, "R-7K2Q9D")), AlreadyExists)


def test_erasing_a_protected_recipient_makes_their_payments_unreadable(paid: Town, db: Database) -> None:
    paid.app.submit(erasure(paid.admin, PROTECTED_PSEUDONYM))
    auditor = {r["pseudonym"]: r for r in auditor_list(caught_up(paid, db), paid.app, Filters())["rows"]}
    assert auditor[PROTECTED_PSEUDONYM]["status"] == "erased"
    assert public_list(db, paid.app, Filters())["withheld"]["recipients"] == 1
    assert verify(paid.app).ok


def test_only_an_administrator_erases(paid: Town) -> None:
    for official in (paid.recorder, paid.auditor):
        assert isinstance(refusal(paid, erasure(official, "R-7K2Q9D")), WrongRole)


def test_an_erasure_must_name_the_pseudonym_of_its_reference(paid: Town) -> None:
    body = Command.parse(erasure(paid.admin, "R-7K2Q9D")).body
    forged = paid.admin.sign("recipient.erase", body, sealed={}, subject="R-4M8WT3")
    assert isinstance(refusal(paid, forged), MalformedCommand)


def test_the_recipients_read_model_rebuilt_equals_the_incremental_one(paid: Town, db: Database) -> None:
    runner = Runner(paid.app, db, [RecipientsProjection()])
    runner.catch_up()
    paid.app.submit(erasure(paid.admin, "R-4M8WT3"))
    runner.catch_up()
    tables = RecipientsProjection.tables
    incremental = [sorted(db.query(f"SELECT * FROM {t}")) for t in tables]
    runner.rebuild()
    assert [sorted(db.query(f"SELECT * FROM {t}")) for t in tables] == incremental


def test_an_id_number_is_never_accepted_in_a_public_field(funded: Town) -> None:
    number = resident_id(date(1970, 1, 1))
    envelope: SignedCommand = funded.recorder.sign(
        "disbursement.make", {"program": "P-DIBAO", "amount": 1_000, "date": "2026-07-10",
                              "recipient": "R-" + number, "village": "流长村"})  # fmt: skip
    assert isinstance(refusal(funded, envelope), MalformedCommand)

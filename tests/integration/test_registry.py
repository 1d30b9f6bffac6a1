"""The key registry: genesis, enrolment, role changes and revocation, each a signed event."""

from __future__ import annotations

from ledger import ids
from ledger.application import Ledger
from ledger.catalogue import Role
from ledger.commands import Signer
from ledger.errors import (
    AlreadyExists,
    BadSignature,
    InputError,
    MalformedCommand,
    NotFound,
    RevokedKey,
    SeparationOfDuties,
    UnknownKey,
    WrongDepartment,
    WrongRole,
)
from tests.builders import (
    JURISDICTION,
    Town,
    enrolment,
    genesis,
    key,
    money_donation,
    recorded_since,
    refusal,
    resigned,
)

ADMIN = key("admin")


def test_genesis_founds_the_ledger_with_its_administrator(ledger: Ledger) -> None:
    ledger.submit(Signer(ADMIN, JURISDICTION).sign("registry.found", genesis(ADMIN)))
    registry = ledger.registry()
    assert registry.jurisdiction == JURISDICTION
    assert registry.official(ADMIN.key_id).role is Role.ADMINISTRATOR
    assert recorded_since(ledger, 0) == 1


def test_a_ledger_is_founded_only_once(town: Town) -> None:
    error = refusal(town, town.admin.sign("registry.found", genesis(town.admin.key)))
    assert type(error) is AlreadyExists
    assert JURISDICTION in error.message


def test_genesis_must_be_signed_by_the_administrator_it_enrols(ledger: Ledger) -> None:
    impostor = Signer(key("impostor"), JURISDICTION)
    error = refusal(ledger, impostor.sign("registry.found", genesis(ADMIN)))
    assert type(error) is MalformedCommand
    assert "administrator it enrols" in error.message


def test_the_first_official_must_be_an_administrator(ledger: Ledger) -> None:
    body = genesis(ADMIN)
    body["administrator"]["role"] = "recorder"
    error = refusal(ledger, Signer(ADMIN, JURISDICTION).sign("registry.found", body))
    assert type(error) is WrongRole
    assert "administrator" in error.message


def test_genesis_must_be_logged_under_the_jurisdiction_it_founds(ledger: Ledger) -> None:
    error = refusal(ledger, Signer(ADMIN, "青山镇").sign("registry.found", genesis(ADMIN)))
    assert type(error) is MalformedCommand
    assert "command.log" in error.message


def test_genesis_with_a_bad_signature_is_refused(ledger: Ledger) -> None:
    envelope = Signer(ADMIN, JURISDICTION).sign("registry.found", genesis(ADMIN))
    forged = type(envelope)(envelope.signed, key("impostor").sign(envelope.signed), ADMIN.key_id)
    error = refusal(ledger, forged)
    assert type(error) is BadSignature
    assert ADMIN.key_id in error.message


def test_genesis_whose_targets_do_not_name_the_registry_is_refused(ledger: Ledger) -> None:
    envelope = Signer(ADMIN, JURISDICTION).sign("registry.found", genesis(ADMIN))
    wrong = resigned(envelope, ADMIN, targets=[str(ids.fund_id(JURISDICTION, "F-DISASTER"))])
    error = refusal(ledger, wrong)
    assert type(error) is MalformedCommand


def test_an_enrolled_official_can_record(town: Town) -> None:
    newcomer = Signer(key("newcomer"), JURISDICTION)
    town.submit(town.admin, "official.enrol", enrolment(newcomer.key, "钱经办", "recorder", "shehui"))
    town.app.submit(newcomer.sign("donation.receive", money_donation(100)))
    assert town.fund().total == 100


def test_a_key_is_enrolled_only_once(town: Town) -> None:
    body = enrolment(town.recorder.key, "李经办二号", "recorder", "shehui")
    error = refusal(town, town.admin.sign("official.enrol", body))
    assert type(error) is AlreadyExists
    assert town.recorder.key.key_id in error.message


def test_a_malformed_public_key_cannot_be_enrolled(town: Town) -> None:
    body = {**enrolment(key("x"), "钱经办", "recorder", "shehui"), "public_key": "AAAA"}
    error = refusal(town, town.admin.sign("official.enrol", body))
    assert type(error) is InputError
    assert "32 bytes" in error.message


def test_only_an_administrator_enrols_officials(town: Town) -> None:
    body = enrolment(key("newcomer"), "钱经办", "recorder", "shehui")
    error = refusal(town, town.head.sign("official.enrol", body))
    assert type(error) is WrongRole
    assert "official.enrol" in error.message


def test_a_changed_role_takes_effect_at_once(town: Town) -> None:
    change = {"key_id": town.recorder.key.key_id, "role": "auditor", "department": "shehui"}
    town.submit(town.admin, "official.change_role", change)
    error = refusal(town, town.recorder.sign("donation.receive", money_donation()))
    assert type(error) is WrongRole
    assert "auditor" in error.message


def test_a_changed_department_takes_effect_at_once(town: Town) -> None:
    change = {"key_id": town.recorder.key.key_id, "role": "recorder", "department": "weisheng"}
    town.submit(town.admin, "official.change_role", change)
    error = refusal(town, town.recorder.sign("donation.receive", money_donation()))
    assert type(error) is WrongDepartment
    assert "F-DISASTER" in error.message


def test_a_revoked_key_is_refused(town: Town) -> None:
    revoke = {"key_id": town.recorder.key.key_id, "reason": "调离岗位"}
    town.submit(town.admin, "official.revoke", revoke)
    error = refusal(town, town.recorder.sign("donation.receive", money_donation()))
    assert type(error) is RevokedKey
    assert town.recorder.key.key_id in error.message


def test_a_revoked_key_cannot_be_revoked_again(town: Town) -> None:
    revoke = {"key_id": town.recorder.key.key_id, "reason": "调离岗位"}
    town.submit(town.admin, "official.revoke", revoke)
    error = refusal(town, town.admin.sign("official.revoke", revoke))
    assert type(error) is RevokedKey
    assert town.recorder.key.key_id in error.message


def test_an_administrator_cannot_revoke_their_own_key(town: Town) -> None:
    revoke = {"key_id": town.admin.key.key_id, "reason": "测试"}
    error = refusal(town, town.admin.sign("official.revoke", revoke))
    assert type(error) is SeparationOfDuties
    assert "own key" in error.message


def test_an_unknown_key_is_refused(town: Town) -> None:
    stranger = Signer(key("stranger"), JURISDICTION)
    error = refusal(town, stranger.sign("donation.receive", money_donation()))
    assert type(error) is UnknownKey
    assert stranger.key.key_id in error.message


def test_the_role_of_an_unknown_key_cannot_be_changed(town: Town) -> None:
    change = {"key_id": key("stranger").key_id, "role": "recorder", "department": "shehui"}
    error = refusal(town, town.admin.sign("official.change_role", change))
    assert type(error) is UnknownKey
    assert key("stranger").key_id in error.message


def test_nothing_is_recorded_before_genesis(ledger: Ledger) -> None:
    recorder = Signer(key("recorder"), JURISDICTION)
    error = refusal(ledger, recorder.sign("donation.receive", money_donation()))
    assert type(error) is NotFound
    assert "no registry" in error.message

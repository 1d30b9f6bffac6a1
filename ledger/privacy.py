"""The privacy policy: per command type, whether it may carry a sealed part, what it holds, whose.

The public part of every command is publishable (its body rules in ``ledger.commands`` and
``ledger.recipients`` keep personal data out of it). Personal data goes in a sealed part only
where this table allows it:

| command               | sealed part                  | data                                        | subject              |
|-----------------------|------------------------------|---------------------------------------------|----------------------|
| recipient.register    | required                     | name, id_number, household_size, flags,     | the pseudonym        |
|                       |                              | phone?, address?, bank_account?             |                      |
| disbursement.make     | only when protected          | recipient (the protected pseudonym)         | that pseudonym       |
| donation.receive      | only without consent         | donor_name, phone?                          | donor:RECEIPT_NO     |
| recipient.erase       | required, never stored       | {} (it names whom to erase)                 | the pseudonym        |
| feedback.receive      | optional                     | contact (phone, e-mail, address: free text) | feedback:FEEDBACK_NO |

Protection: a recipient flagged minor, hiv or confidential — or younger than 18 by the birth
date in the ID number — must be registered as protected, and a protected one must carry one of
those flags. Protected pseudonyms are at least 16 characters (see ``ledger.recipients``).

Reading personal data back is for auditors only: ``authorize_reader`` checks that whoever asks
holds an enrolled, unrevoked auditor's key (a signature over a fresh challenge).

``admit`` applies the table to a parsed command. What the public part says (a digest where none
is allowed, none where one is required) is checked always, also when the auditor replays the
log; what only the plaintext can tell (the data, the subject) is checked when the command is
submitted, because the replayed log holds digests only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger import ids
from ledger.catalogue import ROLE_LABELS, Role
from ledger.commands import Command
from ledger.errors import MalformedCommand, WrongRole
from ledger.fields import Fields
from ledger.identity import age_on, check_name, check_resident_id
from ledger.recipients import check_protected_payee
from ledger.sealing import SealedPart

if TYPE_CHECKING:
    from ledger.decide import Unit
    from ledger.registry import Official, Registry

FLAGS: dict[str, str] = {
    "minor": "未成年人",
    "hiv": "艾滋病病人及感染者家庭",
    "confidential": "依法保密",
    "disability": "残疾",
    "elderly": "老年人",
    "orphan": "孤儿",
    "serious_illness": "重病",
}
PROTECTED_FLAGS = frozenset({"minor", "hiv", "confidential"})
ADULT = 18
MIN_PROTECTED_PSEUDONYM = 16

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-\d{7,8}$")
_ACCOUNT = re.compile(r"^\d{16,19}$")


@dataclass(frozen=True, slots=True)
class SealedRule:
    allowed: Callable[[dict[str, Any]], bool]  # from the public body: may it carry one?
    required: bool
    check: Callable[[Unit, Command, SealedPart], None]  # the plaintext: its data and subject
    erases: bool = False  # the part names whom to erase and is not stored


def _phone(data: Fields, key: str) -> None:
    value = data.data.get(key)
    if value is not None and not (
        isinstance(value, str) and (_MOBILE.match(value) or _LANDLINE.match(value))
    ):
        raise MalformedCommand(
            f"{data.where}.{key} must be a mobile number (11 digits) or a landline 0851-12345678",
            field=key,
        )


def _bank_account(data: Fields) -> None:
    value = data.data.get("bank_account")
    if value is None:
        return
    if not isinstance(value, str) or not _ACCOUNT.match(value):
        raise MalformedCommand("sealed.data.bank_account must be 16 to 19 digits", field="bank_account")
    digits = [int(d) for d in reversed(value)]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    if total % 10:
        raise MalformedCommand("sealed.data.bank_account fails its check digit (Luhn)",
                               field="bank_account")  # fmt: skip


def _check_register(unit: Unit, command: Command, part: SealedPart) -> None:
    body = command.body
    data = Fields(part.data, "sealed.data")
    data.only("name", "id_number", "phone", "address", "household_size", "flags", "bank_account")
    check_name(data.data.get("name"), "sealed.data.name")
    check_resident_id(data.data.get("id_number"), "sealed.data.id_number", on=command.at.date())
    _phone(data, "phone")
    data.opt_text("address", max_len=120)
    size = data.data.get("household_size")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 30:
        raise MalformedCommand("sealed.data.household_size must be a whole number of persons, 1 to 30",
                               field="household_size")  # fmt: skip
    flags = data.data.get("flags", [])
    if not isinstance(flags, list) or len(set(map(str, flags))) != len(flags) or not set(flags) <= set(FLAGS):
        raise MalformedCommand(f"sealed.data.flags must list distinct flags of: {', '.join(FLAGS)}",
                               field="flags")  # fmt: skip
    _bank_account(data)
    minor = age_on(data.data["id_number"], command.at.date()) < ADULT
    must_protect = minor or bool(PROTECTED_FLAGS & set(flags))
    if must_protect and not body.get("protected"):
        reason = "a minor" if minor else "flagged " + "/".join(sorted(PROTECTED_FLAGS & set(flags)))
        raise MalformedCommand(
            f"this recipient is {reason} and must be registered as protected (protected: true)",
            field="protected",
        )
    if body.get("protected"):
        if not must_protect:
            raise MalformedCommand(
                "a protected recipient needs a reason: the flag minor, hiv or confidential",
                field="flags",
            )
        Fields({"subject": part.subject}, "sealed").pseudonym("subject")
        if len(part.subject) < MIN_PROTECTED_PSEUDONYM:
            raise MalformedCommand(
                f"a protected recipient's pseudonym must be at least {MIN_PROTECTED_PSEUDONYM} "
                "random characters (its public id must not be found by trying pseudonyms)",
                field="pseudonym",
            )
        if ids.recipient_id(command.log, part.subject) != UUID(body["ref"]):
            raise MalformedCommand("body.ref is not the id of the pseudonym in the sealed part",
                                   field="ref")  # fmt: skip
    elif part.subject != body["pseudonym"]:
        raise MalformedCommand("the sealed part's subject must be the pseudonym being registered",
                               field="pseudonym")  # fmt: skip


def _check_erase(unit: Unit, command: Command, part: SealedPart) -> None:
    if part.data:
        raise MalformedCommand("the sealed part of an erasure holds no data, only its subject")
    if ids.recipient_id(command.log, part.subject) != command.targets[0]:
        raise MalformedCommand("body.ref is not the id of the pseudonym in the sealed part",
                               field="ref")  # fmt: skip


def _check_payee(unit: Unit, command: Command, part: SealedPart) -> None:
    data = Fields(part.data, "sealed.data")
    data.only("recipient")
    pseudonym = data.pseudonym("recipient")
    if part.subject != pseudonym:
        raise MalformedCommand("the sealed part's subject must be the recipient it names",
                               field="recipient")  # fmt: skip
    check_protected_payee(unit, command.log, pseudonym)


def _check_donor(unit: Unit, command: Command, part: SealedPart) -> None:
    data = Fields(part.data, "sealed.data")
    data.only("donor_name", "phone")
    data.text("donor_name", max_len=80)
    _phone(data, "phone")
    if part.subject != donor_subject(command.body["receipt_no"]):
        raise MalformedCommand("the subject of a donor's sealed part must be donor:<receipt_no>",
                               field="receipt_no")  # fmt: skip


def donor_subject(receipt_no: str) -> str:
    return f"donor:{receipt_no}"


def _check_feedback(unit: Unit, command: Command, part: SealedPart) -> None:
    data = Fields(part.data, "sealed.data")
    data.only("contact")
    data.text("contact", max_len=120)
    if part.subject != feedback_subject(command.body["feedback_no"]):
        raise MalformedCommand("the subject of feedback contact details must be feedback:<no>",
                               field="feedback_no")  # fmt: skip


def feedback_subject(feedback_no: str) -> str:
    return f"feedback:{feedback_no}"


POLICY: dict[str, SealedRule] = {
    "recipient.register": SealedRule(lambda b: True, True, _check_register),
    "recipient.erase": SealedRule(lambda b: True, True, _check_erase, erases=True),
    "disbursement.make": SealedRule(lambda b: b.get("protected") is True, False, _check_payee),
    "donation.receive": SealedRule(
        lambda b: not b.get("consent") and b.get("donor_name") is None, False, _check_donor
    ),
    # Whoever gives feedback may leave contact details; they are sealed, never published.
    "feedback.receive": SealedRule(lambda b: True, False, _check_feedback),
}


def admit(unit: Unit, command: Command, *, replay: bool) -> SealedPart | None:
    """Apply the policy to a command; return its sealed part when there is one to act on."""
    rule = POLICY.get(command.cmd)
    if command.sealed is None:
        if rule is not None and rule.required:
            raise MalformedCommand(f"{command.cmd} needs a sealed part with the personal data")
        return None
    if rule is None or not rule.allowed(command.body):
        raise MalformedCommand(
            f"this {command.cmd} may not carry a sealed part "
            "(see the privacy policy: which commands may, and when)"
        )
    part = command.sealed_part
    if part is None:
        if replay:
            return None  # the log keeps the digest only: the plaintext was checked when submitted
        raise MalformedCommand("the command names a sealed part (command.sealed) but came without it")
    rule.check(unit, command, part)
    return part


def erases(cmd: str) -> bool:
    rule = POLICY.get(cmd)
    return rule is not None and rule.erases


def authorize_reader(
    registry: Registry, key_id: str, challenge: bytes, signature: bytes
) -> Official:
    """The auditor who signed ``challenge`` (fresh, random): enrolled, unrevoked, role auditor.

    Raises ``UnknownKey``, ``RevokedKey``, ``BadSignature`` or ``WrongRole``.
    """
    official = registry.official(key_id)
    official.public_key.verify(signature, challenge)
    if official.role is not Role.AUDITOR:
        raise WrongRole(
            f"{official.name} is {ROLE_LABELS[official.role]}; personal data of recipients is "
            f"shown to auditors ({ROLE_LABELS[Role.AUDITOR]}) only"
        )
    return official

"""The recipient registry: who may be paid, by pseudonym, with their personal data sealed.

``recipient.register`` (a recorder of the department that runs the program) puts a person on a
program's roster. Its public part is only

    {"program": "P-DIBAO", "pseudonym": "R-7K2Q9D", "village": "流长村"}     or, protected,
    {"program": "P-DISEASE", "protected": true, "ref": RECIPIENT-UUID}

and everything personal (name, resident ID number, phone, address, household size, flags such
as minor / hiv / confidential / disability) is in the sealed part, whose subject is the
pseudonym (see ``ledger.privacy`` for what it must hold). A protected recipient's pseudonym,
village and category never appear in public: the public part names the recipient only by its
aggregate id, a UUIDv5 of the pseudonym, which is why protected pseudonyms are long (random, at
least 16 characters) so that nobody can find one by trying them all. The category shown in
lists is the program's.

``recipient.erase`` (an administrator: the officials who record payments cannot erase the
people they pay, and auditors only read) erases a recipient's personal data by destroying the
subject key in the transaction of its own event: the log still verifies, totals still
reconcile, the person is gone. The erasure itself is a signed, public fact of the log (who
erased, when, why), without anything personal.

Payments keep working as before: a disbursement may name a pseudonym that was never registered.
A registered one must be paid in public only if it is not protected, not erased, and in the
village it is registered in; a protected one is paid with ``protected: true`` and a sealed part
``{"recipient": pseudonym}`` so that auditors see who and withheld recipients can be counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger import ids
from ledger.catalogue import DEPARTMENTS, Role
from ledger.commands import Command, read_payload, register
from ledger.errors import AlreadyExists, MalformedCommand, NotFound, RecipientError, WrongDepartment
from ledger.fields import Fields

if TYPE_CHECKING:  # imported by ``ledger.commands`` while it loads: no cycles at run time
    from ledger.decide import Unit
    from ledger.registry import Official, Registry


class Recipient(Aggregate):
    """A registered recipient: what the public part says, and whether they were erased."""

    @staticmethod
    def create_id(signed: str) -> UUID:
        return UUID(read_payload(signed)["targets"][0])

    @event("Registered")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        body = read_payload(signed)["body"]
        self.program: str = body["program"]
        self.protected: bool = bool(body.get("protected"))
        self.pseudonym: str | None = body.get("pseudonym")  # never known for a protected one
        self.village: str | None = body.get("village")
        self.erased = False

    @event("Erased")
    def erased_by(self, signed: str, sig: str, key_id: str) -> None:
        self.erased = True


# --- bodies -----------------------------------------------------------------------------------


def _ref(b: Fields) -> UUID:
    try:
        return UUID(b.text("ref", max_len=36))
    except ValueError:
        raise MalformedCommand("body.ref must be the recipient's aggregate id (a UUID)") from None


def _v_register(b: Fields) -> None:
    b.only("program", "pseudonym", "village", "protected", "ref")
    b.code("program")
    if b.flag("protected"):
        for key in ("pseudonym", "village"):
            if b.data.get(key) is not None:
                raise MalformedCommand(
                    f"body.{key} must be left out for a protected recipient "
                    "(it belongs in the sealed part)"
                )
        _ref(b)
    else:
        if b.data.get("ref") is not None:
            raise MalformedCommand("body.ref is for protected recipients; name the pseudonym")
        b.pseudonym("pseudonym")
        b.public_text("village", max_len=40) or b.text("village")


def _t_register(b: Fields, jurisdiction: str) -> list[UUID]:
    if b.flag("protected"):
        return [_ref(b)]
    return [ids.recipient_id(jurisdiction, b.pseudonym("pseudonym"))]


def _v_erase(b: Fields) -> None:
    b.only("ref", "reason")
    _ref(b)
    b.public_text("reason", max_len=200) or b.text("reason")


def register_body(
    jurisdiction: str, program: str, pseudonym: str, village: str | None, *, protected: bool
) -> dict[str, Any]:
    """The public part of a registration (clients build it with this)."""
    if protected:
        return {"program": program, "protected": True,
                "ref": str(ids.recipient_id(jurisdiction, pseudonym))}  # fmt: skip
    return {"program": program, "pseudonym": pseudonym, "village": village}


def erase_body(jurisdiction: str, pseudonym: str, reason: str) -> dict[str, Any]:
    return {"ref": str(ids.recipient_id(jurisdiction, pseudonym)), "reason": reason}


# --- deciding ---------------------------------------------------------------------------------



def _who(body: dict[str, Any]) -> str:
    return f"recipient {body['pseudonym']}" if body.get("pseudonym") else "this protected recipient"


def _decide_register(
    unit: Unit, command: Command, official: Official, registry: Registry
) -> list[Aggregate]:
    from ledger.accounts import Program

    body = command.body
    program = unit.account(Program, body["program"])
    if official.department != program.department:
        raise WrongDepartment(
            f"{official.name} works for {DEPARTMENTS[official.department]}; program "
            f"{program.code} belongs to {DEPARTMENTS[program.department]}",
            field="program",
        )
    if unit.exists(command.targets[0]):
        raise AlreadyExists(f"{_who(body)} is already registered",
                            field="ref" if body.get("protected") else "pseudonym")  # fmt: skip
    return [Recipient(**command.event_args())]


def _decide_erase(
    unit: Unit, command: Command, official: Official, registry: Registry
) -> list[Aggregate]:
    recipient = registered(unit, command.targets[0])
    if recipient is None:
        raise NotFound("no recipient is registered under this reference", field="ref")
    if recipient.erased:
        raise AlreadyExists("this recipient's personal data is already erased", field="ref")
    recipient.erased_by(**command.event_args())
    return [recipient]


def registered(unit: Unit, recipient_id: UUID) -> Recipient | None:
    found = unit.load(recipient_id)
    return found if isinstance(found, Recipient) else None


def check_payee(unit: Unit, cmd: str, body: dict[str, Any], jurisdiction: str) -> None:
    """A payment or goods issue naming a pseudonym in public: if it is registered, the
    recipient must not be protected or erased, and a payment names the registered village."""
    pseudonym = body.get("recipient")
    if pseudonym is None:
        return
    recipient = registered(unit, ids.recipient_id(jurisdiction, pseudonym))
    if recipient is None:
        return  # never registered: paid as before the registry existed
    if recipient.protected:
        raise RecipientError(
            "this recipient is protected: record it with protected: true, without recipient or "
            "village, and name the recipient in the sealed part",
            field="recipient",
        )
    if recipient.erased:
        raise RecipientError(f"recipient {pseudonym} was erased; nothing more can be recorded for them",
                             field="recipient")  # fmt: skip
    if cmd == "disbursement.make" and body.get("village") != recipient.village:
        raise RecipientError(
            f"recipient {pseudonym} is registered in {recipient.village}, not {body.get('village')}",
            field="village",
        )


def payees_named(payload: dict[str, Any]) -> list[UUID]:
    """The recipients a signed payload names in public, whom ``check_payee`` will look up: a
    hint for looking many commands' up at once. A malformed payload names none."""
    body = payload.get("body")
    bodies = [body]
    if payload.get("cmd") == "correction.record" and isinstance(body, dict):
        original = body.get("original")
        bodies += [body.get("replacement"), original.get("body") if isinstance(original, dict) else None]
    jurisdiction = payload.get("log")
    return [
        ids.recipient_id(jurisdiction, b["recipient"])
        for b in bodies
        if isinstance(jurisdiction, str) and isinstance(b, dict) and isinstance(b.get("recipient"), str)
    ]


def check_protected_payee(unit: Unit, jurisdiction: str, pseudonym: str) -> None:
    """The recipient a protected payment's sealed part names: registered, protected, not erased."""
    recipient = registered(unit, ids.recipient_id(jurisdiction, pseudonym))
    if recipient is None or not recipient.protected:
        raise RecipientError(
            "the sealed part of a protected payment must name a registered protected recipient",
            field="recipient",
        )
    if recipient.erased:
        raise RecipientError("the protected recipient was erased; nothing more can be recorded",
                             field="recipient")  # fmt: skip


register("recipient.register", {Role.RECORDER}, _v_register, _t_register, decide=_decide_register)
register("recipient.erase", {Role.ADMINISTRATOR}, _v_erase, lambda b, j: [_ref(b)],
         decide=_decide_erase)  # fmt: skip

"""Deciding commands: the rules every signed command must pass, and the events it yields.

A ``Unit`` decides one command (or a batch, each seeing the changes of the ones before) against
a ``Backing`` that loads aggregates. The ledger backs it with the event store; the auditor's
verifier backs it with aggregates rebuilt in memory while streaming the log, so the very same
rules are checked again on replay (``replay=True``: the log holds the digests of sealed parts,
not their plaintext, so only what the public part shows is checked again). Guards raise a named ``LedgerError`` before any event is
triggered, so a refused command changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger import ids, privacy
from ledger.accounts import Account, Fund, Program, Store, command_deltas, deltas_for
from ledger.batch import verify_command
from ledger.canonical import canonical
from ledger.catalogue import CATEGORIES, DEPARTMENTS, Role
from ledger.commands import Command, SignedCommand, payload_of, spec_of
from ledger.errors import (
    AlreadyExists,
    CorrectionError,
    DirectedMisuse,
    IdempotencyConflict,
    MalformedCommand,
    NotFound,
    SeparationOfDuties,
    WrongDepartment,
    WrongRole,
)
from ledger.fields import Fields
from ledger.keys import PublicKey
from ledger.recipients import check_payee
from ledger.records import Appropriation, Donation, Pledge, Record
from ledger.registry import Official, Registry
from ledger.sealing import SealedPart


class Backing(Protocol):
    """Where a unit of work finds aggregates, recorded events and idempotency keys."""

    def load(self, aggregate_id: UUID) -> Aggregate | None: ...
    def exists(self, aggregate_id: UUID) -> bool: ...
    def stored_payload(self, aggregate_id: UUID, version: int) -> dict[str, Any]: ...
    def find_command(self, idem: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class CommandResult:
    cmd: str
    key_id: str
    idem: str
    targets: list[str]
    versions: list[int]
    # SHA-256 of the command type and body: a key reused for another command is a conflict.
    digest: str = ""
    duplicate: bool = False

    def to_json(self) -> str:
        # What ``asdict`` gives without ``duplicate``, written out: this runs for every command.
        data = {"cmd": self.cmd, "key_id": self.key_id, "idem": self.idem, "targets": self.targets,
                "versions": self.versions, "digest": self.digest}  # fmt: skip
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, duplicate: bool) -> CommandResult:
        return cls(**json.loads(text), duplicate=duplicate)


def command_digest(command: Command) -> str:
    return hashlib.sha256(canonical({"cmd": command.cmd, "body": command.body})).hexdigest()


_CREATE = "create"
# Per command type: (aggregate class, method triggered) for each target, in target order.
_MOVES: dict[str, list[tuple[type[Aggregate], str]]] = {
    "pledge.record": [(Pledge, _CREATE)],
    "donation.receive": [(Donation, _CREATE), (Account, "donation_received")],
    "appropriation.receive": [(Appropriation, _CREATE), (Fund, "appropriation_received")],
    "allocation.make": [(Fund, "allocated"), (Program, "allocation_received")],
    "transfer.make": [(Fund, "transferred_out"), (Fund, "transferred_in")],
    "disbursement.make": [(Program, "disbursed")],
    "goods.receive": [(Store, "goods_received")],
    "goods.issue": [(Store, "goods_issued")],
}
_OPENS: dict[str, type[Account]] = {"fund.open": Fund, "program.open": Program, "store.open": Store}
_KIND: dict[type[Aggregate], str] = {
    Fund: "fund", Program: "program", Store: "store", Account: "fund or store"
}


class Unit:
    """One unit of work: the aggregates a batch of commands loads, changes and saves.

    Later commands of a batch see the changes of earlier ones; nothing is written until the
    whole batch has been decided.
    """

    def __init__(self, backing: Backing, *, replay: bool = False) -> None:
        self.backing = backing
        self.replay = replay
        # Personal data to store encrypted with the events, and subjects whose keys to destroy.
        self.sealed_parts: list[SealedPart] = []
        self.erased_subjects: list[str] = []
        self.touched: dict[UUID, Aggregate] = {}
        self.created: set[UUID] = set()
        self.events: list[Any] = []
        # The first result under each idempotency key this unit decided, in order.
        self.seen: dict[str, CommandResult] = {}

    @property
    def journal_entries(self) -> list[tuple[str, str]]:
        """(idempotency key, first result as JSON) to save with the events; encoded only when
        saved (the auditor's replay never saves)."""
        return [(idem, result.to_json()) for idem, result in self.seen.items()]

    # --- loading ---------------------------------------------------------------------

    def load(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id in self.touched:
            return self.touched[aggregate_id]
        found = self.backing.load(aggregate_id)
        if found is not None:
            self.touched[aggregate_id] = found
        return found

    def exists(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.touched:
            return True
        return self.backing.exists(aggregate_id)

    def get(self, aggregate_id: UUID, kind: type[Aggregate], label: str, field: str) -> Any:
        found = self.load(aggregate_id)
        noun = _KIND.get(kind, kind.__name__.lower())
        if found is None:
            raise NotFound(f"unknown {noun} {label!r}", field=field)
        if not isinstance(found, kind):
            raise NotFound(f"{label!r} is not a {noun}", field=field)
        return found

    def registry(self) -> Registry:
        found = self.load(ids.REGISTRY_ID)
        if found is None:
            raise NotFound("this ledger has no registry yet: run `gongkai init` first")
        assert isinstance(found, Registry)
        return found

    def account(self, kind: type[Account], code: str) -> Account:
        jurisdiction = self.registry().jurisdiction
        make = {Fund: ids.fund_id, Program: ids.program_id, Store: ids.store_id}[kind]
        field = _KIND[kind]
        account: Account = self.get(make(jurisdiction, code), kind, code, field)
        return account

    def stored_payload(self, aggregate_id: UUID, version: int) -> dict[str, Any]:
        for event in self.events:
            if event.originator_id == aggregate_id and event.originator_version == version:
                return payload_of(event.signed)
        return self.backing.stored_payload(aggregate_id, version)

    # --- deciding ------------------------------------------------------------------------

    def decide(self, envelope: SignedCommand) -> CommandResult:
        command = Command.parse(envelope)
        spec = spec_of(command.cmd)
        spec.validate(Fields(command.body))
        if command.cmd == "registry.found":
            # Authenticate before answering from the journal: a forged genesis gets nothing.
            admin = PublicKey.from_b64(command.body["administrator"]["public_key"])
            if admin.key_id != command.by:
                raise MalformedCommand("genesis must be signed by the administrator it enrols")
            verify_command(admin, command.envelope.signature, command.envelope.signed)
            prior = self.prior(command)
            if prior is not None:
                return prior
            privacy.admit(self, command, replay=self.replay)  # genesis carries no personal data
            aggregates = self._found(command)
            sealed = None
        else:
            registry = self.registry()
            official = self._authenticate(command, registry)
            prior = self.prior(command)
            if prior is not None:
                return prior
            self._authorize(command, registry, spec.roles)
            expected = spec.targets(Fields(command.body), registry.jurisdiction)
            if list(command.targets) != expected:
                raise MalformedCommand("command.targets do not match what the body names")
            sealed = privacy.admit(self, command, replay=self.replay)
            aggregates = self._decide(command, official, registry)
        if sealed is not None and privacy.erases(command.cmd):
            self.erased_subjects.append(sealed.subject)
        elif sealed is not None:
            self.sealed_parts.append(sealed)
        for aggregate in aggregates:
            self.touched[aggregate.id] = aggregate
            self.events.extend(aggregate.collect_events())
        result = CommandResult(
            cmd=command.cmd,
            key_id=command.by,
            idem=command.idem,
            targets=[str(t) for t in command.targets],
            versions=[a.version for a in aggregates],
            # On replay nothing compares it (the log keeps no first results): not worth encoding.
            digest="" if self.replay else command_digest(command),
        )
        self.seen[command.idem] = result
        return result

    def prior(self, command: Command) -> CommandResult | None:
        """The first result under this command's idempotency key, if the key was used.

        A retry (the same command type and body, even re-signed) gets the first result; the
        key reused for a different command is refused, never silently answered.
        """
        first = self.seen.get(command.idem)
        found = first.to_json() if first is not None else self.backing.find_command(command.idem)
        if found is None:
            return None
        result = CommandResult.from_json(found, duplicate=True)
        if result.digest and result.digest != command_digest(command):
            raise IdempotencyConflict(
                f"idempotency key {command.idem!r} was already used for another command "
                f"({result.cmd}); use a new key for a new command"
            )
        return result

    def _found(self, command: Command) -> list[Aggregate]:
        if self.exists(ids.REGISTRY_ID):
            raise AlreadyExists(f"this ledger is already founded for {self.registry().jurisdiction}")
        body = command.body
        admin = body["administrator"]
        key = PublicKey.from_b64(admin["public_key"])
        if list(command.targets) != [ids.REGISTRY_ID]:
            raise MalformedCommand("command.targets of a genesis must name the registry only")
        if key.key_id != command.by:
            raise MalformedCommand("genesis must be signed by the administrator it enrols")
        if admin["role"] != Role.ADMINISTRATOR:
            raise WrongRole("the first official of a ledger must be an administrator")
        if command.log != body["jurisdiction"]:
            raise MalformedCommand("command.log must name the jurisdiction being founded")
        verify_command(key, command.envelope.signature, command.envelope.signed)
        return [Registry(**command.event_args())]

    def _authenticate(self, command: Command, registry: Registry) -> Official:
        if command.log != registry.jurisdiction:
            raise MalformedCommand(
                f"command is for the log of {command.log!r}, this is {registry.jurisdiction!r}"
            )
        found = registry.find(command.by)
        if found is None:
            registry.official(command.by)  # raises UnknownKey
        assert found is not None
        verify_command(found.public_key, command.envelope.signature, command.envelope.signed)
        return found

    def _authorize(self, command: Command, registry: Registry, roles: frozenset[Role]) -> None:
        official = registry.official(command.by)  # raises RevokedKey
        if official.role not in roles:
            allowed = "/".join(sorted(r.value for r in roles))
            raise WrongRole(
                f"{official.name} is {official.role.value}; {command.cmd} needs {allowed}"
            )

    def _decide(self, command: Command, official: Official, registry: Registry) -> list[Aggregate]:
        own = spec_of(command.cmd).decide
        if own is not None:
            changed: list[Aggregate] = own(self, command, official, registry)
            return changed
        args = command.event_args()
        body = command.body
        if command.cmd == "official.enrol":
            key = PublicKey.from_b64(body["public_key"])
            if registry.find(key.key_id) is not None:
                raise AlreadyExists(f"key {key.key_id} is already enrolled", field="public_key")
            registry.enrolled(**args)
            return [registry]
        if command.cmd in ("official.change_role", "official.revoke"):
            target = registry.official(body["key_id"])  # unknown or already revoked: refused
            if command.cmd == "official.revoke":
                if target.key_id == official.key_id:
                    raise SeparationOfDuties("an administrator cannot revoke their own key")
                registry.revoked(**args)
            else:
                registry.role_changed(**args)
            return [registry]
        if command.cmd in _OPENS:
            if official.role is Role.DEPARTMENT_HEAD and official.department != body["department"]:
                raise WrongDepartment(
                    f"{official.name} heads {DEPARTMENTS[official.department]}, "
                    f"not {DEPARTMENTS[body['department']]}",
                    field="department",
                )
            if self.exists(command.targets[0]):
                kind = command.cmd.split(".")[0]
                raise AlreadyExists(f"{kind} {body['code']!r} is already open", field="code")
            return [_OPENS[command.cmd](**args)]
        if command.cmd == "correction.record":
            return self._correct(command, official, registry)
        return self._move(command, official, registry)

    def _move(self, command: Command, official: Official, registry: Registry) -> list[Aggregate]:
        plan = _MOVES[command.cmd]
        loaded: list[Account | None] = []
        labels = _labels(command.cmd, command.body)
        reopened: dict[int, Record] = {}
        for index, ((kind, method), target, (field, label)) in enumerate(
            zip(plan, command.targets, labels, strict=True)
        ):
            if method == _CREATE:
                if self.exists(target):
                    record = self.load(target)
                    if not isinstance(record, Record) or not record.reversed:
                        raise AlreadyExists(f"{field} {label} is already recorded", field=field)
                    reopened[index] = record  # reversed before: recorded anew under its number
                loaded.append(None)
            else:
                loaded.append(self.get(target, kind, label, field))
        self._rules(command.cmd, command.body, loaded, official, registry)
        deltas = command_deltas(command.payload)
        for account, change in zip(loaded, deltas, strict=True):
            if account is not None:
                account.check_deltas(change)
        args = command.event_args()
        out: list[Aggregate] = []
        for index, ((kind, method), account) in enumerate(zip(plan, loaded, strict=True)):
            if index in reopened:
                reopened[index].recorded_again(**args)
                out.append(reopened[index])
            elif account is None:
                out.append(kind(**args))
            else:
                getattr(account, method)(**args)
                out.append(account)
        return out

    def _correct(self, command: Command, official: Official, registry: Registry) -> list[Aggregate]:
        body = command.body
        ref = body["corrects"]
        ref_id, version = UUID(ref["aggregate"]), int(ref["version"])
        if ref_id not in command.targets:
            raise CorrectionError(
                "body.corrects.aggregate is not one of the original's aggregates", field="corrects"
            )
        original = self.stored_payload(ref_id, version)
        copy = body["original"]
        if original["cmd"] != copy["cmd"] or original["body"] != copy["body"]:
            raise CorrectionError(
                f"body.original does not match the recorded event {ref_id} v{version}",
                field="original",
            )
        if original["targets"] != [str(t) for t in command.targets]:
            raise CorrectionError("the correction must touch exactly the original's aggregates")
        if ref_id != command.targets[0]:
            raise CorrectionError(
                "body.corrects must name the original's event on its first aggregate "
                f"({command.targets[0]}: the receipt, the fund drawn on, the program or store)",
                field="corrects",
            )
        replacement = body.get("replacement")
        if replacement is not None:
            spec = spec_of(original["cmd"])
            if spec.targets(Fields(replacement), registry.jurisdiction) != list(command.targets):
                raise CorrectionError(
                    "a replacement must name the same fund, program, store and receipt; "
                    "to move it elsewhere, reverse it and record it anew",
                    field="replacement",
                )
        loaded: list[Any] = [self.get(t, Aggregate, str(t), "corrects") for t in command.targets]
        holder = loaded[command.targets.index(ref_id)]
        holder.check_not_corrected(version)
        accounts: list[Account | None] = [a if isinstance(a, Account) else None for a in loaded]
        self._rules(original["cmd"], replacement or original["body"], accounts, official, registry)
        for aggregate in loaded:
            if isinstance(aggregate, Account):
                aggregate.check_deltas(deltas_for(command.payload, aggregate.id))
        args = command.event_args()
        for aggregate in loaded:
            aggregate.corrected_by(**args)
        return loaded

    def _rules(
        self,
        cmd: str,
        body: dict[str, Any],
        loaded: list[Account | None],
        official: Official,
        registry: Registry,
    ) -> None:
        """Department and directed-use rules of money and goods movements."""
        accounts = [a for a in loaded if a is not None]
        if cmd == "pledge.record":
            accounts = [self.account(Fund, body["fund"])]
        if cmd == "donation.receive" and body.get("pledge_no") is not None:
            pledge = ids.pledge_id(registry.jurisdiction, body["pledge_no"])
            if not self.exists(pledge):
                raise NotFound(f"unknown pledge {body['pledge_no']!r}", field="pledge_no")
        source = accounts[0]
        if official.department != source.department:
            raise WrongDepartment(
                f"{official.name} works for {DEPARTMENTS[official.department]}; "
                f"{source.kind_label} {source.code} belongs to {DEPARTMENTS[source.department]}",
                field={"fund": "fund", "program": "program", "store": "store"}.get(
                    type(source).__name__.lower()
                ),
            )
        purpose = body.get("purpose")
        if cmd in ("donation.receive", "appropriation.receive", "pledge.record") and isinstance(
            source, Fund
        ):
            if source.restricted and purpose not in (None, source.category):
                raise DirectedMisuse(
                    f"fund {source.code} is restricted to {CATEGORIES[source.category][1]}; "
                    f"money directed to {CATEGORIES[purpose][1]} cannot go into it",
                    field="purpose",
                )
        elif cmd == "allocation.make":
            fund, program = accounts
            assert isinstance(fund, Fund) and isinstance(program, Program)
            if purpose is not None and purpose != program.category:
                raise DirectedMisuse(
                    f"money directed to {CATEGORIES[purpose][1]} cannot be allocated to "
                    f"program {program.code} ({CATEGORIES[program.category][1]})",
                    field="purpose",
                )
            if fund.restricted and program.category != fund.category:
                raise DirectedMisuse(
                    f"fund {fund.code} is restricted to {CATEGORIES[fund.category][1]}; "
                    f"program {program.code} is {CATEGORIES[program.category][1]}",
                    field="program",
                )
        elif cmd == "transfer.make":
            src, dst = accounts
            assert isinstance(src, Fund) and isinstance(dst, Fund)
            if src.restricted and (not dst.restricted or dst.category != src.category):
                # Else restricted money would land undirected and could serve any category.
                raise DirectedMisuse(
                    f"restricted fund {src.code} can only transfer to another restricted fund of "
                    f"{CATEGORIES[src.category][1]}",
                    field="to_fund",
                )
            if dst.restricted and purpose not in (None, dst.category):
                raise DirectedMisuse(
                    f"fund {dst.code} is restricted to {CATEGORIES[dst.category][1]}; "
                    f"money directed to {CATEGORIES[purpose][1]} cannot go into it",
                    field="purpose",
                )
        elif cmd == "disbursement.make":
            check_payee(self, cmd, body, registry.jurisdiction)
        elif cmd == "goods.issue":
            check_payee(self, cmd, body, registry.jurisdiction)
            if purpose is not None and purpose != body["category"]:
                raise DirectedMisuse(
                    f"goods directed to {CATEGORIES[purpose][1]} cannot be issued for "
                    f"{CATEGORIES[body['category']][1]}",
                    field="purpose",
                )
            approver = registry.find(body["approved_by"])
            if approver is None or approver.revoked_at is not None:
                raise NotFound(
                    f"approver {body['approved_by']} is not an enrolled official", field="approved_by"
                )
            if approver.key_id == official.key_id:
                raise SeparationOfDuties(
                    "whoever records a goods issue cannot also approve it", field="approved_by"
                )
            if approver.role not in (Role.DEPARTMENT_HEAD, Role.LEADER):
                raise WrongRole(
                    f"goods issues are approved by a department head or leader in charge; "
                    f"{approver.name} is {approver.role.value}",
                    field="approved_by",
                )


def _labels(cmd: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(body field, value) naming each target of a movement, for messages and row reports."""
    if cmd == "pledge.record":
        return [("pledge_no", body["pledge_no"])]
    if cmd == "donation.receive":
        account = ("fund", body["fund"]) if body.get("fund") else ("store", body["store"])
        return [("receipt_no", body["receipt_no"]), account]
    if cmd == "appropriation.receive":
        return [("document_no", f"{body['document_no']} ({body['fund']})"), ("fund", body["fund"])]
    if cmd == "allocation.make":
        return [("fund", body["fund"]), ("program", body["program"])]
    if cmd == "transfer.make":
        return [("from_fund", body["from_fund"]), ("to_fund", body["to_fund"])]
    if cmd == "disbursement.make":
        return [("program", body["program"])]
    return [("store", body["store"])]



"""Signed commands: the envelope, the signed payload, and each command type's body rules.

The payload an official signs (RFC 8785 canonical JSON) is the event's public part:

    {"v": 1, "log": "流长镇", "cmd": "allocation.make", "by": KEY_ID, "at": ISO-8601 with offset,
     "nonce": 32 hex, "idem": idempotency key, "targets": [aggregate UUIDs], "body": {...},
     "sealed": digest of the sealed part or null}

It binds who (``by``), what (``cmd`` + ``body``), which aggregates (``targets``, derived from the
body so the server can recompute them), when (``at``) and a nonce. The stored event keeps those
exact bytes, the signature and the key id; nothing is re-encoded before verification.

Personal data travels beside the payload, never in it: the envelope's ``sealed`` bytes (see
``ledger.sealing``), bound by their SHA-256 digest in the payload's ``sealed`` field. Which
commands may carry one, and what it must hold, is decided by ``ledger.privacy``.

For each command type this module knows how to validate the body, which aggregates it touches
(``targets``) and what it does to each one's balances (``deltas``: bucket -> signed change).
Balances are kept in buckets: a fund's bucket is the purpose of directed money ("" = undirected),
a program has one bucket "", a store's bucket is (item, grade, unit, purpose) as a JSON key.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypedDict, Unpack
from uuid import UUID

import orjson

from ledger import ids
from ledger.batch import sign_batch
from ledger.canonical import canonical, parse
from ledger.catalogue import APPROPRIATION_LEVELS, DEPARTMENTS, DONOR_CLASSES, Role
from ledger.errors import MalformedCommand
from ledger.fields import Fields
from ledger.goods import Goods
from ledger.identity import check_credit_code
from ledger.keys import PrivateKey
from ledger.sealing import DIGEST, SealedPart, digest_of
from ledger.transcoder import long_digits

PAYLOAD_VERSION = 1
Deltas = dict[str, int]


@dataclass(frozen=True, slots=True)
class SignedCommand:
    """Exactly what is stored: the signed bytes, the Ed25519 signature, the signer's key id.

    ``sealed`` is the plaintext sealed part (personal data) the client sends with the command;
    it is never part of the event: the ledger stores it encrypted, apart from the log.
    """

    signed: bytes
    signature: bytes
    key_id: str
    sealed: bytes | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed signed payload (its shape checked; its signature not yet)."""

    envelope: SignedCommand
    log: str
    cmd: str
    by: str
    at: datetime
    nonce: str
    idem: str
    targets: tuple[UUID, ...]
    body: dict[str, Any]
    sealed: str | None  # the digest of the sealed part, as signed
    # The signed bytes as text, what its events store, and their parse (``read_payload``
    # answers with it for that text; never mutate it).
    text: str
    payload: dict[str, Any]
    # The sealed part itself, when the command came with it (never when replayed from the log).
    sealed_part: SealedPart | None = None

    def event_args(self) -> dict[str, str]:
        """What every event of this command records: the signed text, signature and key id."""
        return {
            "signed": self.text,
            "sig": base64.b64encode(self.envelope.signature).decode(),
            "key_id": self.envelope.key_id,
        }

    @classmethod
    def parse(cls, envelope: SignedCommand) -> Command:
        try:
            text = envelope.signed.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedCommand(f"signed command is not valid JSON: {exc}") from exc
        payload = parse(text)
        data = Fields(payload, "command")
        data.only("v", "log", "cmd", "by", "at", "nonce", "idem", "targets", "body", "sealed")
        if data.data.get("v") != PAYLOAD_VERSION:
            raise MalformedCommand(f"command.v must be {PAYLOAD_VERSION}")
        cmd = data.choice("cmd", SPECS)
        at_text = data.text("at", max_len=40)
        try:
            at = datetime.fromisoformat(at_text)
        except ValueError as exc:
            raise MalformedCommand(f"command.at {at_text!r} is not an ISO-8601 time") from exc
        if at.tzinfo is None:
            raise MalformedCommand("command.at must carry a UTC offset")
        raw_targets = data.data.get("targets")
        if not isinstance(raw_targets, list) or not raw_targets:
            raise MalformedCommand("command.targets must be a non-empty list of aggregate ids")
        try:
            targets = tuple(_uuid(str(t)) for t in raw_targets)
        except ValueError as exc:
            raise MalformedCommand("command.targets must be UUIDs") from exc
        by = data.text("by", max_len=64)
        if by != envelope.key_id:
            raise MalformedCommand("command.by does not match the key id the command came with")
        nonce = data.text("nonce", max_len=64)
        sealed = data.opt_text("sealed", max_len=64)
        if sealed is not None and not DIGEST.match(sealed):
            raise MalformedCommand("command.sealed must be the SHA-256 digest (64 hex) of the sealed part")
        sealed_part = None
        if envelope.sealed is not None:
            if sealed is None:
                raise MalformedCommand(
                    "a sealed part came with a command whose signed payload names none (sealed: null)"
                )
            if digest_of(envelope.sealed) != sealed:
                raise MalformedCommand(
                    "the sealed part does not match the digest the official signed (command.sealed)"
                )
            sealed_part = SealedPart.parse(envelope.sealed)
        command = cls(
            envelope=envelope,
            log=data.text("log", max_len=80),
            cmd=cmd,
            by=by,
            at=at,
            nonce=nonce,
            idem=data.text("idem", max_len=200),
            targets=targets,
            body=Fields(data.data.get("body"), "body").data,
            sealed=sealed,
            text=text,
            payload=payload,
            sealed_part=sealed_part,
        )
        # Its events carry ``text`` and read their payload from it, one by one: parsed once.
        _remember(text, payload)
        return command


def payload_of(signed: str | bytes) -> dict[str, Any]:
    """The payload of stored signed bytes (already verified when it was recorded): parsed by
    orjson from UTF-8 (about twice as fast as ``json`` on a payload of Chinese text; read
    models parse every event's), or by ``json`` where orjson would differ: it refuses what
    ``json`` reads (``NaN``), and it reads an integer beyond 64 bits as a float, so a text with
    19 digits in a row anywhere goes to ``json`` (``long_digits``, in ``ledger.transcoder``)."""
    try:
        data = signed.encode("utf-8") if isinstance(signed, str) else signed
        value = json.loads(signed) if long_digits(data) else orjson.loads(data)
    except (orjson.JSONDecodeError, UnicodeEncodeError):
        value = json.loads(signed)
    assert isinstance(value, dict)
    return value


@lru_cache(maxsize=4_096)  # a town's funds, programs and stores are named again and again
def _uuid(text: str) -> UUID:
    return UUID(text)


# Texts parsed lately, by identity (each entry holds its text, so its id is not reused while it
# is here), the oldest dropped first: two pages of the projection runner. And the payload of
# the command last parsed (kept apart: loading an aggregate between parsing a command and
# applying its events reads other payloads).
_recent: OrderedDict[int, tuple[object, dict[str, Any]]] = OrderedDict()
_RECENT_LIMIT = 2048
_last_parsed: tuple[object, dict[str, Any]] = (None, {})


def _remember(text: str, payload: dict[str, Any]) -> None:
    global _last_parsed
    _last_parsed = (text, payload)


def read_payload(signed: str | bytes) -> dict[str, Any]:
    """``payload_of`` for read models and aggregates, which only read it: the same text object
    is parsed once while every read model applies its event (or a whole page) in turn, or every
    aggregate of a command its event (an earlier result is given again, or the parse of the
    command whose text it is: the object itself is compared, never its value). Never mutate
    what it returns."""
    parsed = _last_parsed
    if parsed[0] is signed:
        return parsed[1]
    found = _recent.get(id(signed))
    if found is not None and found[0] is signed:
        return found[1]
    value = payload_of(signed)
    if len(_recent) >= _RECENT_LIMIT:
        _recent.popitem(last=False)
    _recent[id(signed)] = (signed, value)
    return value


class SignOptions(TypedDict, total=False):
    """What ``Signer.sign`` passes on to ``Signer.prepare``."""

    idem: str | None
    at: datetime | None
    nonce: str | None
    sealed: dict[str, Any] | None
    subject: str | None
    salt: str | None


class Signer:
    """The client side: an official's key turning (cmd, body) into a ``SignedCommand``.

    The server never holds this key; the CLI, the browser app and scripts sign for themselves.
    """

    def __init__(self, key: PrivateKey, jurisdiction: str) -> None:
        self.key = key
        self.jurisdiction = jurisdiction

    def prepare(
        self,
        cmd: str,
        body: dict[str, Any],
        *,
        idem: str | None = None,
        at: datetime | None = None,
        nonce: str | None = None,
        sealed: dict[str, Any] | None = None,
        subject: str | None = None,
        salt: str | None = None,
    ) -> Unsigned:
        """The canonical payload of a command, ready to sign alone or in a batch; ``sealed`` is
        personal data about ``subject`` that goes sealed beside it (its digest is signed;
        ``salt`` is random unless given, for reproducible demos)."""
        spec = spec_of(cmd)
        nonce = nonce or secrets.token_hex(16)
        part = None
        if sealed is not None:
            if not subject:
                raise MalformedCommand("a sealed part needs the subject whose data it is")
            part = SealedPart.pack(subject, sealed, salt)
        payload = {
            "v": PAYLOAD_VERSION,
            "log": self.jurisdiction,
            "cmd": cmd,
            "by": self.key.key_id,
            "at": (at or datetime.now(UTC)).isoformat(),
            "nonce": nonce,
            "idem": idem or nonce,
            "targets": [str(t) for t in spec.targets(Fields(body), self.jurisdiction)],
            "body": body,
            "sealed": part.digest if part else None,
        }
        return Unsigned(canonical(payload), part.raw if part else None)

    def sign(self, cmd: str, body: dict[str, Any], **options: Unpack[SignOptions]) -> SignedCommand:
        """Sign one command (the options are ``prepare``'s)."""
        return self.sign_prepared(self.prepare(cmd, body, **options))

    def sign_prepared(self, unsigned: Unsigned) -> SignedCommand:
        """Sign one prepared command alone."""
        return SignedCommand(
            unsigned.signed, self.key.sign(unsigned.signed), self.key.key_id, unsigned.sealed
        )

    def sign_batch(self, commands: Sequence[Unsigned]) -> list[SignedCommand]:
        """Sign many prepared commands with one signature over their Merkle root
        (``ledger.batch``): each comes back with its own batch signature."""
        signatures = sign_batch(self.key, [c.signed for c in commands])
        return [
            SignedCommand(c.signed, signature, self.key.key_id, c.sealed)
            for c, signature in zip(commands, signatures, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class Unsigned:
    """A command's canonical payload before it is signed, and its sealed part (if any)."""

    signed: bytes
    sealed: bytes | None = None


# --- command types ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    roles: frozenset[Role]
    validate: Callable[[Fields], None]
    targets: Callable[[Fields, str], list[UUID]]
    deltas: Callable[[Fields], list[Deltas]]
    correctable: bool = False
    # Commands of other modules (the disclosure workflow) decide themselves:
    # decide(unit, command, official, registry) -> the aggregates it changed.
    decide: Callable[..., list[Any]] | None = None


SPECS: dict[str, CommandSpec] = {}


def spec_of(cmd: str) -> CommandSpec:
    try:
        return SPECS[cmd]
    except KeyError:
        raise MalformedCommand(f"unknown command type {cmd!r}") from None


def _spec(
    name: str,
    roles: set[Role],
    validate: Callable[[Fields], None],
    targets: Callable[[Fields, str], list[UUID]],
    deltas: Callable[[Fields], list[Deltas]] | None = None,
    *,
    correctable: bool = False,
    decide: Callable[..., list[Any]] | None = None,
) -> None:
    def no_deltas(b: Fields) -> list[Deltas]:
        return [{} for _ in targets(b, "")]

    SPECS[name] = CommandSpec(
        name, frozenset(roles), validate, targets, deltas or no_deltas, correctable, decide
    )


register = _spec  # the public name other modules register their command types with


def stock_key(goods: Goods, purpose: str | None) -> str:
    k = goods.kind
    return json.dumps([k.item, k.grade, k.unit, purpose or ""], ensure_ascii=False)


def goods_lines(b: Fields, key: str = "goods") -> list[Goods]:
    raw = b.data.get(key)
    if not isinstance(raw, list) or not raw:
        raise MalformedCommand(f"body.{key} must be a non-empty list of goods lines")
    lines = [Goods.from_json(line, f"body.{key}[{i}]") for i, line in enumerate(raw)]
    if len({g.kind for g in lines}) != len(lines):
        raise MalformedCommand(f"body.{key} lists the same item and grade twice; add them up")
    return lines


def _registry(_: Fields, __: str) -> list[UUID]:
    return [ids.REGISTRY_ID]


def _v_found(b: Fields) -> None:
    b.only("jurisdiction", "administrator")
    b.text("jurisdiction", max_len=80)
    _v_official(Fields(b.data.get("administrator"), "body.administrator"))


def _v_official(b: Fields) -> None:
    b.only("name", "role", "department", "public_key")
    b.text("name", max_len=40)
    b.choice("role", {r.value for r in Role})
    b.choice("department", DEPARTMENTS)
    b.text("public_key", max_len=64)


def _v_change_role(b: Fields) -> None:
    b.only("key_id", "role", "department")
    b.text("key_id", max_len=64)
    b.choice("role", {r.value for r in Role})
    b.choice("department", DEPARTMENTS)


def _v_revoke(b: Fields) -> None:
    b.only("key_id", "reason")
    b.text("key_id", max_len=64)
    b.text("reason", max_len=200)


_spec("registry.found", {Role.ADMINISTRATOR}, _v_found, _registry)
_spec("official.enrol", {Role.ADMINISTRATOR}, _v_official, _registry)
_spec("official.change_role", {Role.ADMINISTRATOR}, _v_change_role, _registry)
_spec("official.revoke", {Role.ADMINISTRATOR}, _v_revoke, _registry)

_OPENERS = {Role.ADMINISTRATOR, Role.DEPARTMENT_HEAD}


def _v_fund(b: Fields) -> None:
    b.only("code", "name", "category", "restricted", "department")
    b.code("code")
    b.text("name", max_len=80)
    b.category("category")
    b.flag("restricted")
    b.choice("department", DEPARTMENTS)


def _v_program(b: Fields) -> None:
    b.only("code", "name", "category", "department")
    b.code("code")
    b.text("name", max_len=80)
    b.category("category")
    b.choice("department", DEPARTMENTS)


def _v_store(b: Fields) -> None:
    b.only("code", "name", "department")
    b.code("code")
    b.text("name", max_len=80)
    b.choice("department", DEPARTMENTS)


_spec("fund.open", _OPENERS, _v_fund, lambda b, j: [ids.fund_id(j, b.code("code"))])
_spec("program.open", _OPENERS, _v_program, lambda b, j: [ids.program_id(j, b.code("code"))])
_spec("store.open", _OPENERS, _v_store, lambda b, j: [ids.store_id(j, b.code("code"))])

_RECORDERS = {Role.RECORDER}


def _donor(b: Fields) -> None:
    b.choice("donor_class", DONOR_CLASSES)
    consent = b.flag("consent")
    name = b.public_text("donor_name", max_len=80)
    if name is not None and not consent:
        raise MalformedCommand(
            "body.donor_name may be public only with the donor's consent (consent: true); "
            "without it leave the name out"
        )
    if b.data.get("donor_code") is not None:
        # An organisation's unified social credit code names it as surely as its name does.
        if b.data["donor_class"] == "individual" or not consent:
            raise MalformedCommand(
                "body.donor_code (统一社会信用代码) is for an organisation that consented to be named",
                field="donor_code",
            )
        check_credit_code(b.data["donor_code"], "body.donor_code")


def _v_pledge(b: Fields) -> None:
    b.only("pledge_no", "fund", "donor_class", "donor_name", "donor_code", "consent", "amount",
           "purpose", "date")
    b.code("pledge_no")
    b.code("fund")
    _donor(b)
    b.amount()
    b.opt_category("purpose")
    b.day("date")


_spec(
    "pledge.record",
    _RECORDERS,
    _v_pledge,
    lambda b, j: [ids.pledge_id(j, b.code("pledge_no"))],
    correctable=True,
)


def _v_donation(b: Fields) -> None:
    b.only(
        "receipt_no", "date", "donor_class", "donor_name", "donor_code", "consent", "purpose",
        "fund", "amount", "store", "goods", "pledge_no", "note",
    )  # fmt: skip
    b.code("receipt_no")
    b.day("date")
    _donor(b)
    b.opt_category("purpose")
    b.public_text("note")
    if b.data.get("pledge_no") is not None:
        b.code("pledge_no")
    money = b.data.get("fund") is not None or b.data.get("amount") is not None
    goods = b.data.get("store") is not None or b.data.get("goods") is not None
    if money == goods:
        raise MalformedCommand(
            "a donation is either money (fund and amount) or goods (store and goods), not both"
        )
    if money:
        b.code("fund")
        b.amount()
    else:
        b.code("store")
        goods_lines(b)


def _t_donation(b: Fields, j: str) -> list[UUID]:
    account = (
        ids.fund_id(j, b.code("fund"))
        if b.data.get("fund") is not None
        else ids.store_id(j, b.code("store"))
    )
    return [ids.donation_id(j, b.code("receipt_no")), account]


def _d_donation(b: Fields) -> list[Deltas]:
    purpose = b.opt_category("purpose")
    if b.data.get("fund") is not None:
        return [{}, {purpose or "": b.amount()}]
    return [{}, {stock_key(g, purpose): g.quantity for g in goods_lines(b)}]


_spec("donation.receive", _RECORDERS, _v_donation, _t_donation, _d_donation, correctable=True)


def _v_appropriation(b: Fields) -> None:
    b.only("document_no", "level", "fund", "amount", "date", "purpose")
    b.text("document_no", max_len=60)
    b.choice("level", APPROPRIATION_LEVELS)
    b.code("fund")
    b.amount()
    b.day("date")
    b.opt_category("purpose")


_spec(
    "appropriation.receive",
    _RECORDERS,
    _v_appropriation,
    lambda b, j: [
        ids.appropriation_id(j, b.text("document_no"), b.code("fund")),
        ids.fund_id(j, b.code("fund")),
    ],
    lambda b: [{}, {b.opt_category("purpose") or "": b.amount()}],
    correctable=True,
)


def _v_allocation(b: Fields) -> None:
    b.only("fund", "program", "amount", "purpose", "date", "note")
    b.code("fund")
    b.code("program")
    b.amount()
    b.opt_category("purpose")
    b.day("date")
    b.public_text("note")


_spec(
    "allocation.make",
    _RECORDERS,
    _v_allocation,
    lambda b, j: [ids.fund_id(j, b.code("fund")), ids.program_id(j, b.code("program"))],
    lambda b: [{b.opt_category("purpose") or "": -b.amount()}, {"": b.amount()}],
    correctable=True,
)


def _v_transfer(b: Fields) -> None:
    b.only("from_fund", "to_fund", "amount", "purpose", "date", "note")
    if b.code("from_fund") == b.code("to_fund"):
        raise MalformedCommand("body.to_fund must differ from body.from_fund")
    b.amount()
    b.opt_category("purpose")
    b.day("date")
    b.public_text("note")


def _d_transfer(b: Fields) -> list[Deltas]:
    bucket = b.opt_category("purpose") or ""
    return [{bucket: -b.amount()}, {bucket: b.amount()}]


_spec(
    "transfer.make",
    _RECORDERS,
    _v_transfer,
    lambda b, j: [ids.fund_id(j, b.code("from_fund")), ids.fund_id(j, b.code("to_fund"))],
    _d_transfer,
    correctable=True,
)


_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _v_disbursement(b: Fields) -> None:
    b.only("program", "amount", "date", "period", "recipient", "village", "protected")
    b.code("program")
    b.amount()
    b.day("date")
    period = b.opt_text("period", max_len=7)
    if period is not None and (
        not _PERIOD.fullmatch(period) or period < "1900"
    ):
        raise MalformedCommand(f"body.period {period!r} is not a month YYYY-MM")
    if b.flag("protected"):
        # A protected recipient (minor, HIV/AIDS, confidential) is never singled out in public.
        for key in ("recipient", "village"):
            if b.data.get(key) is not None:
                raise MalformedCommand(
                    f"body.{key} must be left out for a protected recipient "
                    "(it belongs in the sealed part)"
                )
    else:
        b.pseudonym("recipient")
        b.public_text("village", max_len=40) or b.text("village")


_spec(
    "disbursement.make",
    _RECORDERS,
    _v_disbursement,
    lambda b, j: [ids.program_id(j, b.code("program"))],
    lambda b: [{"": -b.amount()}],
    correctable=True,
)


def _v_goods_in(b: Fields) -> None:
    b.only("store", "goods", "purpose", "source", "date")
    b.code("store")
    goods_lines(b)
    b.opt_category("purpose")
    b.public_text("source", max_len=120) or b.text("source")
    b.day("date")


_spec(
    "goods.receive",
    _RECORDERS,
    _v_goods_in,
    lambda b, j: [ids.store_id(j, b.code("store"))],
    lambda b: [{stock_key(g, b.opt_category("purpose")): g.quantity for g in goods_lines(b)}],
    correctable=True,
)


def _v_goods_out(b: Fields) -> None:
    b.only("store", "goods", "purpose", "category", "recipient", "institution", "approved_by", "date")
    b.code("store")
    goods_lines(b)
    b.opt_category("purpose")
    b.category("category")
    to_person = b.data.get("recipient") is not None
    to_institution = b.data.get("institution") is not None
    if to_person == to_institution:
        raise MalformedCommand("goods are issued to one recipient or one institution: give exactly one")
    if to_person:
        b.pseudonym("recipient")
    else:
        b.public_text("institution", max_len=80)
    b.text("approved_by", max_len=64)
    b.day("date")


_spec(
    "goods.issue",
    _RECORDERS,
    _v_goods_out,
    lambda b, j: [ids.store_id(j, b.code("store"))],
    lambda b: [{stock_key(g, b.opt_category("purpose")): -g.quantity for g in goods_lines(b)}],
    correctable=True,
)


def _v_correction(b: Fields) -> None:
    b.only("corrects", "original", "replacement", "note")
    ref = Fields(b.data.get("corrects"), "body.corrects")
    ref.only("aggregate", "version")
    try:
        UUID(ref.text("aggregate", max_len=36))
    except ValueError as exc:
        raise MalformedCommand("body.corrects.aggregate must be an aggregate UUID") from exc
    version = ref.data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise MalformedCommand("body.corrects.version must be a positive integer")
    original = Fields(b.data.get("original"), "body.original")
    original.only("cmd", "body")
    spec = spec_of(original.text("cmd"))
    if not spec.correctable:
        raise MalformedCommand(f"{spec.name} commands cannot be corrected")
    spec.validate(Fields(original.data.get("body"), "body.original.body"))
    if b.data.get("replacement") is not None:
        spec.validate(Fields(b.data.get("replacement"), "body.replacement"))
    note = b.text("note", max_len=500)
    if len(note) < 4:
        raise MalformedCommand("body.note (更正说明) must say what was wrong and why")


def _original(b: Fields) -> tuple[CommandSpec, Fields]:
    original = Fields(b.data.get("original"), "body.original")
    return spec_of(original.text("cmd")), Fields(original.data.get("body"), "body.original.body")


def _t_correction(b: Fields, j: str) -> list[UUID]:
    spec, body = _original(b)
    return spec.targets(body, j)


def _d_correction(b: Fields) -> list[Deltas]:
    spec, body = _original(b)
    result = [{k: -v for k, v in d.items()} for d in spec.deltas(body)]
    if b.data.get("replacement") is not None:
        for mine, more in zip(result, spec.deltas(Fields(b.data["replacement"])), strict=True):
            for k, v in more.items():
                mine[k] = mine.get(k, 0) + v
    return [{k: v for k, v in d.items() if v} for d in result]


_spec("correction.record", _RECORDERS, _v_correction, _t_correction, _d_correction)


# The disclosure workflow registers its command types here, so every command type is known
# wherever commands are parsed.
from ledger import disclosure as _disclosure  # noqa: E402, F401

# The recipient registry (``recipient.register``, ``recipient.erase``) registers its own too.
from ledger import recipients as _recipients  # noqa: E402, F401

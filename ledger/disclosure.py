"""The disclosure workflow of the town's plan (§三–§五): items, their signed steps, obligations.

A disclosure item (公开事项) has a kind of information (决策 / 管理和服务 / 执行和结果), a focus
area, a responsible department and its content: a report bound to a checkpoint of the log, or
documents whose files are hashed into the signed command. Each step is a signed event:

    drafted → submitted → reviewed (department head) → [posted: 公示, 7 working days]
            → approved (leader in charge) → published (channels) → filed (党政办 备案)
    and, from published: corrected (a 更正说明 linking the replacement item) or withdrawn.

Separation of duties: whoever drafts, reviews and approves an item are three different
officials of the right roles, and the reviewer heads the item's department. An objection
received during a posting period blocks approval until a response is recorded; approval of a
posted item also waits for the posting period to end. Public feedback is recorded through the
server's intake key (role ``intake``), which can record nothing else.

A disclosure obligation (公开义务) carries the legal clock of a piece of information: its rule
(from the versioned policy file), the day it formed, and its due date — computed with the
working-day calendar, signed, and checked again by the ledger, so replay gives the same answer.
"""

from __future__ import annotations

import base64
import re
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger import ids
from ledger.catalogue import (
    AREAS,
    CATEGORIES,
    CHANNELS,
    DEPARTMENTS,
    DOCUMENT_KINDS,
    INFO_KINDS,
    Role,
)
from ledger.commands import Command, read_payload, register
from ledger.errors import (
    AlreadyExists,
    MalformedCommand,
    NotFound,
    ObjectionPending,
    SeparationOfDuties,
    WorkflowError,
    WrongDepartment,
)
from ledger.fields import Fields
from ledger.workdays import clock, policy

if TYPE_CHECKING:  # the registry and the unit of work import this module's registrations
    from ledger.decide import Unit
    from ledger.registry import Official, Registry

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
REPORTS = {"flows", "recipients", "goods", "trace"}


# --- aggregates ------------------------------------------------------------------------------


class Obligation(Aggregate):
    @staticmethod
    def create_id(signed: str) -> UUID:
        return UUID(read_payload(signed)["targets"][0])

    @event("Opened")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        body = read_payload(signed)["body"]
        self.obligation_no: str = body["obligation_no"]
        self.department: str = body["department"]
        self.due: str = body["due"]


class Disclosure(Aggregate):
    @staticmethod
    def create_id(signed: str) -> UUID:
        return UUID(read_payload(signed)["targets"][0])

    @event("Drafted")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        body = read_payload(signed)["body"]
        self.item_no: str = body["item_no"]
        self.department: str = body["department"]
        self.posting: bool = bool(body.get("posting"))
        self.status = "drafted"
        self.drafted_by = key_id
        self.reviewed_by: str | None = None
        self.approved_by: str | None = None
        self.posting_ends: str | None = None
        self.channels: list[str] = []
        self.feedback: dict[str, dict[str, Any]] = {}

    @event("Submitted")
    def submitted(self, signed: str, sig: str, key_id: str) -> None:
        self.status = "submitted"

    @event("Reviewed")
    def reviewed(self, signed: str, sig: str, key_id: str) -> None:
        self.status = "reviewed"
        self.reviewed_by = key_id

    @event("Posted")
    def posted(self, signed: str, sig: str, key_id: str) -> None:
        self.status = "posted"
        self.posting_ends = read_payload(signed)["body"]["posting_ends"]

    @event("Approved")
    def approved(self, signed: str, sig: str, key_id: str) -> None:
        self.status = "approved"
        self.approved_by = key_id

    @event("Published")
    def published(self, signed: str, sig: str, key_id: str) -> None:
        if self.status != "filed":
            self.status = "published"
        for channel in read_payload(signed)["body"]["channels"]:
            if channel not in self.channels:
                self.channels.append(channel)

    @event("Filed")
    def filed(self, signed: str, sig: str, key_id: str) -> None:
        self.status = "filed"

    @event("Corrected")
    def corrected(self, signed: str, sig: str, key_id: str) -> None:
        self.status = "corrected"

    @event("Withdrawn")
    def withdrawn(self, signed: str, sig: str, key_id: str) -> None:
        self.status = "withdrawn"

    @event("FeedbackReceived")
    def feedback_received(self, signed: str, sig: str, key_id: str) -> None:
        body = read_payload(signed)["body"]
        self.feedback[body["feedback_no"]] = {"kind": body["kind"], "answered": False}

    @event("FeedbackAnswered")
    def feedback_answered(self, signed: str, sig: str, key_id: str) -> None:
        self.feedback[read_payload(signed)["body"]["feedback_no"]]["answered"] = True

    def pending_objections(self) -> list[str]:
        return sorted(
            no for no, f in self.feedback.items() if f["kind"] == "objection" and not f["answered"]
        )


# --- body rules --------------------------------------------------------------------------------


def _item(b: Fields, j: str) -> list[UUID]:
    return [ids.disclosure_id(j, b.code("item_no"))]


def _v_obligation(b: Fields) -> None:
    b.only("obligation_no", "title", "department", "area", "category", "rule", "formed_on", "due",
           "policy_version", "calendar", "sources")  # fmt: skip
    b.code("obligation_no")
    b.public_text("title") or b.text("title")
    b.choice("department", DEPARTMENTS)
    b.choice("area", AREAS)
    b.opt_category("category")
    b.choice("rule", policy().rules)
    b.day("formed_on")
    b.day("due")
    b.text("policy_version", max_len=40)
    b.text("calendar", max_len=80)
    sources = b.data.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) and len(s) <= 80 for s in sources):
        raise MalformedCommand("body.sources must be a list of short references")


def _v_content(data: object) -> None:
    content = Fields(data, "body.content")
    kind = content.choice("type", {"report", "document"})
    if kind == "report":
        content.only("type", "report", "params", "checkpoint")
        content.choice("report", REPORTS)
        if not isinstance(content.data.get("params", {}), dict):
            raise MalformedCommand("body.content.params must be an object")
        checkpoint = Fields(content.data.get("checkpoint"), "body.content.checkpoint")
        checkpoint.only("size", "root")
        size = checkpoint.data.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise MalformedCommand("body.content.checkpoint.size must be a positive tree size")
        try:
            root = base64.b64decode(checkpoint.text("root", max_len=64), validate=True)
        except ValueError as exc:
            raise MalformedCommand("body.content.checkpoint.root must be base64") from exc
        if len(root) != 32:
            raise MalformedCommand("body.content.checkpoint.root must be a SHA-256 root")
    else:
        content.only("type", "doc_kind", "files")
        content.choice("doc_kind", DOCUMENT_KINDS)
        files = content.data.get("files")
        if not isinstance(files, list) or not files:
            raise MalformedCommand("body.content.files must list the documents' files")
        for i, raw in enumerate(files):
            f = Fields(raw, f"body.content.files[{i}]")
            f.only("name", "sha256", "size")
            f.text("name", max_len=120)
            if not _SHA256.match(str(f.data.get("sha256", ""))):
                raise MalformedCommand(f"body.content.files[{i}].sha256 must be 64 lowercase hex")
            size = f.data.get("size")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise MalformedCommand(f"body.content.files[{i}].size must be a byte count")


def _v_draft(b: Fields) -> None:
    b.only("item_no", "title", "kind", "area", "department", "content", "obligations", "posting",
           "summary", "date")  # fmt: skip
    b.code("item_no")
    b.public_text("title") or b.text("title")
    b.choice("kind", INFO_KINDS)
    b.choice("area", AREAS)
    b.choice("department", DEPARTMENTS)
    b.flag("posting")
    b.public_text("summary", max_len=2000)
    b.day("date")
    _v_content(b.data.get("content"))
    obligations = b.data.get("obligations", [])
    if not isinstance(obligations, list) or len(set(map(str, obligations))) != len(obligations):
        raise MalformedCommand("body.obligations must be a list of distinct obligation numbers")
    for i in range(len(obligations)):
        Fields({"o": obligations[i]}, f"body.obligations[{i}]").code("o")


def _v_step(*extra: str) -> Any:
    def validate(b: Fields) -> None:
        b.only("item_no", "date", *extra)
        b.code("item_no")
        b.day("date")
        if "opinion" in extra:
            b.public_text("opinion", max_len=2000)
        if "channels" in extra:
            channels = b.data.get("channels")
            if not isinstance(channels, list) or not channels or not set(channels) <= set(CHANNELS):
                raise MalformedCommand(f"body.channels must list some of: {', '.join(CHANNELS)}")
        if "posting_ends" in extra:
            b.day("posting_ends")
        if "reason" in extra:
            b.public_text("reason", max_len=500) or b.text("reason")
        if "note" in extra:
            note = b.public_text("note", max_len=2000) or b.text("note")
            if len(note) < 4:
                raise MalformedCommand("body.note (更正说明) must say what was wrong and why")
        if "replacement_item_no" in extra:
            b.code("replacement_item_no")
        if "feedback_no" in extra:
            b.code("feedback_no")
        if "kind" in extra:
            b.choice("kind", {"comment", "objection"})
        if "text" in extra:
            b.public_text("text", max_len=2000) or b.text("text")

    return validate


# --- deciding ----------------------------------------------------------------------------------



def _own_department(official: Official, department: str) -> None:
    if official.role in (Role.RECORDER, Role.DEPARTMENT_HEAD) and official.department != department:
        raise WrongDepartment(
            f"{official.name} works for {DEPARTMENTS[official.department]}; the item belongs to "
            f"{DEPARTMENTS[department]}",
            field="item_no",
        )


def _load(unit: Unit, command: Command) -> Disclosure:
    item: Disclosure = unit.get(command.targets[0], Disclosure, command.body["item_no"], "item_no")
    return item


def _status(item: Disclosure, allowed: set[str], step: str) -> None:
    if item.status not in allowed:
        raise WorkflowError(
            f"item {item.item_no} is {item.status}; it can be {step} only when "
            f"{' or '.join(sorted(allowed))}",
            field="item_no",
        )


def _decide_obligation(unit: Unit, command: Command, official: Official, registry: Registry) -> list[Aggregate]:
    body = command.body
    if official.role is Role.RECORDER:
        _own_department(official, body["department"])
    expected = clock(body["rule"], date.fromisoformat(body["formed_on"]))
    if body["due"] != expected.due.isoformat():
        raise MalformedCommand(
            f"body.due {body['due']} does not follow rule {body['rule']} "
            f"({expected.working_days} working days after {body['formed_on']} is "
            f"{expected.due.isoformat()}, {expected.calendar}, policy {expected.policy_version})",
            field="due",
        )
    if unit.exists(command.targets[0]):
        raise AlreadyExists(f"obligation {body['obligation_no']} is already open", field="obligation_no")
    return [Obligation(**command.event_args())]


def _decide_draft(unit: Unit, command: Command, official: Official, registry: Registry) -> list[Aggregate]:
    body = command.body
    _own_department(official, body["department"])
    if unit.exists(command.targets[0]):
        raise AlreadyExists(f"disclosure item {body['item_no']} already exists", field="item_no")
    for number in body.get("obligations", []):
        if not unit.exists(ids.obligation_id(registry.jurisdiction, number)):
            raise NotFound(f"unknown obligation {number!r}", field="obligations")
    return [Disclosure(**command.event_args())]


def _decide_step(unit: Unit, command: Command, official: Official, registry: Registry) -> list[Aggregate]:
    item = _load(unit, command)
    body = command.body
    cmd = command.cmd
    args = command.event_args()
    if cmd == "disclosure.submit":
        _own_department(official, item.department)
        _status(item, {"drafted"}, "submitted")
        item.submitted(**args)
    elif cmd == "disclosure.review":
        _own_department(official, item.department)
        _status(item, {"submitted"}, "reviewed")
        if official.key_id == item.drafted_by:
            raise SeparationOfDuties("whoever drafted an item cannot also review it")
        item.reviewed(**args)
    elif cmd == "disclosure.post":
        _own_department(official, item.department)
        if not item.posting:
            raise WorkflowError(f"item {item.item_no} is not a list posted for objections (公示)")
        _status(item, {"reviewed"}, "posted")
        ends = clock("posting_period", date.fromisoformat(body["date"])).due.isoformat()
        if body["posting_ends"] != ends:
            raise MalformedCommand(
                f"body.posting_ends must be {ends}: 7 working days after {body['date']}",
                field="posting_ends",
            )
        item.posted(**args)
    elif cmd == "disclosure.approve":
        _status(item, {"posted"} if item.posting else {"reviewed"}, "approved")
        if official.key_id in (item.drafted_by, item.reviewed_by):
            raise SeparationOfDuties(
                "the approver must be neither the official who drafted nor who reviewed the item"
            )
        pending = item.pending_objections()
        if pending:
            raise ObjectionPending(
                f"objection(s) {', '.join(pending)} to item {item.item_no} have no response yet"
            )
        if item.posting and item.posting_ends is not None and body["date"] <= item.posting_ends:
            raise WorkflowError(
                f"the posting period of item {item.item_no} runs until {item.posting_ends}; "
                "approve it after that day"
            )
        item.approved(**args)
    elif cmd == "disclosure.publish":
        if official.role is not Role.OFFICE_FILER:
            _own_department(official, item.department)
        _status(item, {"approved", "published", "filed"}, "published")
        item.published(**args)
    elif cmd == "disclosure.file":
        _status(item, {"published"}, "filed")
        item.filed(**args)
    elif cmd == "disclosure.correct":
        _own_department(official, item.department)
        _status(item, {"published", "filed"}, "corrected")
        replacement = ids.disclosure_id(registry.jurisdiction, body["replacement_item_no"])
        if not unit.exists(replacement) or replacement == item.id:
            raise NotFound(
                f"replacement item {body['replacement_item_no']!r} must be drafted first",
                field="replacement_item_no",
            )
        item.corrected(**args)
    elif cmd == "disclosure.withdraw":
        _status(item, {"drafted", "submitted", "reviewed", "posted", "approved", "published", "filed"},
                "withdrawn")  # fmt: skip
        item.withdrawn(**args)
    elif cmd == "feedback.receive":
        if body["feedback_no"] in item.feedback:
            raise AlreadyExists(f"feedback {body['feedback_no']} is already recorded", field="feedback_no")
        if body["kind"] == "objection":
            if item.status != "posted" or (item.posting_ends and body["date"] > item.posting_ends):
                raise WorkflowError(
                    f"objections to item {item.item_no} are taken during its posting period only",
                    field="kind",
                )
        else:
            _status(item, {"posted", "published", "filed"}, "commented on")
        item.feedback_received(**args)
    elif cmd == "feedback.respond":
        _own_department(official, item.department)
        if body["feedback_no"] not in item.feedback:
            raise NotFound(f"no feedback {body['feedback_no']!r} on item {item.item_no}", field="feedback_no")
        if item.feedback[body["feedback_no"]]["answered"]:
            raise AlreadyExists(f"feedback {body['feedback_no']} already has a response")
        item.feedback_answered(**args)
    return [item]


_RECORDER = {Role.RECORDER}
_HEAD = {Role.DEPARTMENT_HEAD}
_STAFF = {Role.RECORDER, Role.DEPARTMENT_HEAD}

register("obligation.open", {Role.RECORDER, Role.OFFICE_FILER}, _v_obligation,
         lambda b, j: [ids.obligation_id(j, b.code("obligation_no"))], decide=_decide_obligation)
register("disclosure.draft", _RECORDER, _v_draft, _item, decide=_decide_draft)
register("disclosure.submit", _RECORDER, _v_step(), _item, decide=_decide_step)
register("disclosure.review", _HEAD, _v_step("opinion"), _item, decide=_decide_step)
register("disclosure.post", _STAFF, _v_step("channels", "posting_ends"), _item, decide=_decide_step)
register("disclosure.approve", {Role.LEADER}, _v_step("opinion"), _item, decide=_decide_step)
register("disclosure.publish", {Role.RECORDER, Role.DEPARTMENT_HEAD, Role.OFFICE_FILER},
         _v_step("channels"), _item, decide=_decide_step)
register("disclosure.file", {Role.OFFICE_FILER}, _v_step(), _item, decide=_decide_step)
register("disclosure.correct", _RECORDER, _v_step("note", "replacement_item_no"), _item,
         decide=_decide_step)
register("disclosure.withdraw", {Role.LEADER}, _v_step("reason"), _item, decide=_decide_step)
register("feedback.receive", {Role.INTAKE, Role.OFFICE_FILER}, _v_step("feedback_no", "kind", "text"),
         _item, decide=_decide_step)
register("feedback.respond", _STAFF, _v_step("feedback_no", "text"), _item, decide=_decide_step)  # fmt: skip

__all__ = ["CATEGORIES", "REPORTS", "Disclosure", "Obligation"]

"""The JSON API (``/api/v1``): signed commands in, read models and log proofs out.

Writes need no session: a command's Ed25519 signature *is* its authentication. Reading what is
not public (drafts, village-board and auditor recipient lists) needs a session (see
``api.sessions``): a bearer token, or the web app's cookie plus ``X-CSRF-Token`` on unsafe
requests. Every refusal is RFC 9457 problem+json (``api.problems``).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from api.bootstrap import Services
from api.group_commit import GroupCommit
from api.problems import UNAVAILABLE, ledger_problem, unavailable_problem, validation_problem
from api.sessions import Session, Sessions
from ledger.application import CommandResult
from ledger.catalogue import AREAS, Role
from ledger.commands import Command, SignedCommand, Signer
from ledger.errors import InputError, LedgerError, MalformedCommand
from ledger.merkle import ProofError
from ledger.privacy import feedback_subject
from projections import balances, checkpoints, deadlines, recipient_lists
from projections.merkle_log import leaf_of, tree
from projections.reports import Scope, flow_report, goods_ledger
from projections.sql import Database
from projections.trace_report import donation_trace

MAX_TEXT = 64_000
MAX_IDEMPOTENCY_KEY = 200
# The Authorization header, read by hand so a missing one is a 401 problem, not a 422.
Auth = Annotated[str | None, Header(include_in_schema=False)]
Code = Annotated[str, Path(max_length=40)]


class Envelope(BaseModel):
    """A signed command: the exact signed JSON text, its Ed25519 signature, the signer's key id."""

    signed: str = Field(max_length=MAX_TEXT, description="the RFC 8785 JSON text that was signed")
    signature: str = Field(
        max_length=1600, description="base64 Ed25519 signature, or a batch signature (ledger.batch)"
    )
    key_id: str = Field(max_length=64)
    sealed: str | None = Field(default=None, max_length=MAX_TEXT, description="sealed part (personal data)")

    def to_command(self) -> SignedCommand:
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedCommand("signature is not base64") from None
        return SignedCommand(self.signed.encode("utf-8"), signature, self.key_id,
                             self.sealed.encode("utf-8") if self.sealed is not None else None)  # fmt: skip


class Batch(BaseModel):
    commands: list[Envelope] = Field(max_length=5000)


class Result(BaseModel):
    cmd: str
    key_id: str
    idem: str
    targets: list[str]
    versions: list[int]
    duplicate: bool


class SessionRequest(BaseModel):
    key_id: str = Field(max_length=64)
    challenge: str = Field(max_length=100)
    signature: str = Field(max_length=200)


class FeedbackIn(BaseModel):
    item_no: str = Field(max_length=40)
    kind: Literal["comment", "objection"]
    text: str = Field(min_length=2, max_length=2000)
    contact: str | None = Field(default=None, max_length=120,
                                description="optional; sealed, never published")  # fmt: skip


def _result(result: CommandResult) -> Result:
    return Result(cmd=result.cmd, key_id=result.key_id, idem=result.idem, targets=result.targets,
                  versions=result.versions, duplicate=result.duplicate)  # fmt: skip


class RateLimit:
    """A token bucket per client address, for the public endpoints."""

    def __init__(self, per_minute: int = 20) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(self.per_minute, tokens + (now - last) * self.per_minute / 60)
            if tokens < 1:
                raise HTTPException(429, "too many requests; try again in a minute",
                                    headers={"Retry-After": "60"})  # fmt: skip
            self._buckets[client] = (tokens - 1, now)


async def _record(committer: GroupCommit, envelope: Envelope, idempotency_key: str | None) -> CommandResult:
    """``POST /api/v1/commands``: the command, recorded with the commands arriving meanwhile."""
    command = envelope.to_command()
    if idempotency_key is not None and Command.parse(command).idem != idempotency_key:
        raise InputError("the Idempotency-Key header differs from the signed idem")
    return await committer.submit_async(command)


def _is_json(content_type: str) -> bool:
    """As FastAPI reads a body: ``application/json`` or ``application/<anything>+json``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class CommandIntake:
    """``POST /api/v1/commands`` as a plain ASGI app: the one request the server takes under load.

    It takes the steps of the route ``api_router`` declares (the same ``Envelope`` validation,
    ``Idempotency-Key`` check, group commit, JSON result, 200 with ``Idempotent-Replayed`` for
    a replay) and refuses with the same problems (``api.problems``), without the framework's
    layers: its middlewares, matching the path against the routes, solving dependencies,
    parsing the body into a dict and then validating it, validating the result again: most of
    the event loop's work per command, and the loop shares one interpreter with the committer
    (``docs/benchmarks.md``, 3. HTTP). Anything else it raises reaches the server as from any route (a
    500, logged). ``tests/e2e/test_command_intake.py`` holds it to the route's answers.
    """

    def __init__(self, committer: GroupCommit) -> None:
        self.committer = committer

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        try:
            response = await self._answer(scope, receive)
        except ClientDisconnect:  # gone before its whole body came: nothing was submitted
            return
        except LedgerError as error:
            response = ledger_problem(error)
        except UNAVAILABLE:
            response = unavailable_problem()
        await response(scope, receive, send)

    async def _answer(self, scope: AsgiScope, receive: Receive) -> Response:
        content_type = idempotency_key = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"idempotency-key":
                idempotency_key = value.decode("latin-1")
        body = await _body(receive)
        if content_type is not None and not _is_json(content_type):
            return validation_problem([{"loc": ("body",), "msg": "a command is JSON (Content-Type: application/json)"}])
        if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            return validation_problem([{"loc": ("header", "idempotency-key"),
                                        "msg": f"String should have at most {MAX_IDEMPOTENCY_KEY} characters"}])  # fmt: skip
        try:
            envelope = Envelope.model_validate_json(body)
        except ValidationError as error:
            return validation_problem([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
        result = await _record(self.committer, envelope, idempotency_key)
        content = json.dumps({"cmd": result.cmd, "key_id": result.key_id, "idem": result.idem,
                              "targets": result.targets, "versions": result.versions,
                              "duplicate": result.duplicate},
                             ensure_ascii=False, separators=(",", ":")).encode("utf-8")  # fmt: skip
        if result.duplicate:
            return Response(content, 200, {"Idempotent-Replayed": "true"}, media_type="application/json")
        return Response(content, 201, media_type="application/json")


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def api_router(services: Services, sessions: Sessions, lock: threading.RLock,
               committer: GroupCommit) -> APIRouter:  # fmt: skip
    """The JSON API; ``committer`` records single commands (the server's one group commit)."""
    router = APIRouter(prefix="/api/v1")
    feedback_limit = RateLimit()

    @contextmanager
    def books() -> Iterator[Database]:
        with lock:
            yield services.read_models()

    def current(request: Request, authorization: str | None) -> Session | None:
        token = None
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        elif request.cookies.get("gk_session"):
            token = request.cookies["gk_session"]
            session = sessions.get(token)
            if session and request.method not in ("GET", "HEAD", "OPTIONS") and (
                request.headers.get("x-csrf-token") != session.csrf
            ):
                raise HTTPException(403, "missing or wrong X-CSRF-Token")
        return sessions.get(token)

    def need(request: Request, authorization: str | None, *roles: Role) -> Session:
        session = current(request, authorization)
        if session is None:
            raise HTTPException(401, "sign in: this needs a session (expired sessions need a new one)",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        if roles and session.official.role not in roles:
            raise HTTPException(403, f"{session.official.role.value} may not read this")
        return session

    # --- writes ------------------------------------------------------------------------------

    @router.post("/commands", status_code=201, response_model=Result, tags=["commands"])
    async def submit(envelope: Envelope, response: Response,
                     idempotency_key: Annotated[str | None, Header(max_length=MAX_IDEMPOTENCY_KEY)] = None) -> Result:  # fmt: skip
        """Record one signed command of any type (see the README for the payload)."""
        # The server's ``Guard`` (``api.web``) sends this path to ``CommandIntake``, the same
        # steps without the framework's layers; this route declares it (the OpenAPI schema).
        result = await _record(committer, envelope, idempotency_key)
        if result.duplicate:
            response.status_code = 200
            response.headers["Idempotent-Replayed"] = "true"
        return _result(result)

    @router.post("/commands/batch", status_code=201, response_model=list[Result], tags=["commands"])
    def submit_batch(batch: Batch) -> list[Result]:
        """Record signed commands all-or-nothing (imports): 422 lists every refused one."""
        with lock:
            results = services.ledger.submit_batch([e.to_command() for e in batch.commands])
        return [_result(r) for r in results]

    @router.post("/feedback", status_code=201, response_model=Result, tags=["public"])
    def feedback(item: FeedbackIn, request: Request) -> Result:
        """Public feedback or an objection on a posted or published item (rate-limited)."""
        feedback_limit.check(request.client.host if request.client else "unknown")
        today = datetime.now(UTC).astimezone().date().isoformat()
        with lock:
            intake = Signer(services.intake_key(), services.ledger.registry().jurisdiction)
            number = f"FB-{today}-{secrets.token_hex(4).upper()}"
            body = {"item_no": item.item_no, "feedback_no": number, "kind": item.kind,
                    "text": item.text, "date": today}  # fmt: skip
            if item.contact:
                envelope = intake.sign("feedback.receive", body, sealed={"contact": item.contact},
                                       subject=feedback_subject(number))  # fmt: skip
            else:
                envelope = intake.sign("feedback.receive", body)
            return _result(services.ledger.submit(envelope))

    # --- sessions ------------------------------------------------------------------------------

    @router.post("/session/challenge", tags=["session"])
    def challenge() -> dict[str, Any]:
        nonce, expires = sessions.challenge()
        with lock:
            jurisdiction = services.ledger.registry().jurisdiction
        return {"challenge": nonce, "expires": int(expires), "jurisdiction": jurisdiction,
                "sign": "gongkai-session/v1\\n<jurisdiction>\\n<challenge>\\n"}  # fmt: skip

    @router.post("/session", tags=["session"])
    def open_session(request_body: SessionRequest, response: Response) -> dict[str, Any]:
        try:
            signature = base64.b64decode(request_body.signature, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedCommand("signature is not base64") from None
        with lock:
            registry = services.ledger.registry()
        session = sessions.open(registry, request_body.key_id, request_body.challenge, signature)
        response.set_cookie("gk_session", session.token, httponly=True, samesite="strict",
                            max_age=int(session.expires - time.time()), path="/")  # fmt: skip
        response.set_cookie("gk_csrf", session.csrf, samesite="strict", path="/")
        o = session.official
        return {"token": session.token, "csrf": session.csrf, "expires": int(session.expires),
                "official": {"key_id": o.key_id, "name": o.name, "role": o.role.value,
                             "department": o.department}}  # fmt: skip

    @router.delete("/session", status_code=204, tags=["session"])
    def close_session(request: Request, authorization: Auth = None) -> Response:
        session = need(request, authorization)
        sessions.close(session.token)
        response = Response(status_code=204)
        response.delete_cookie("gk_session", path="/")
        return response

    # --- reads ---------------------------------------------------------------------------------

    @router.get("/balances", tags=["read models"])
    def get_balances() -> list[dict[str, Any]]:
        with books() as db:
            return [a.to_json() for a in balances.accounts(db)]

    @router.get("/officials", tags=["read models"])
    def get_officials() -> list[dict[str, Any]]:
        with books() as db:
            return balances.officials(db)

    @router.get("/reports/flows", tags=["read models"])
    def get_flows(start: date | None = None, end: date | None = None,
                  area: Annotated[str | None, Query(pattern="^(" + "|".join(AREAS) + ")$")] = None,
                  fund: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:  # fmt: skip
        with books() as db:
            return flow_report(db, Scope(start, end, area, fund))

    @router.get("/reports/goods", tags=["read models"])
    def get_goods(start: date | None = None, end: date | None = None) -> dict[str, Any]:
        with books() as db:
            return goods_ledger(db, Scope(start, end))

    @router.get("/trace/{receipt_no}", tags=["read models"])
    def get_trace(receipt_no: Code) -> dict[str, Any]:
        with books() as db:
            return donation_trace(db, receipt_no)

    @router.get("/deadlines", tags=["read models"])
    def get_deadlines(today: date | None = None) -> dict[str, Any]:
        day = today or date.today()
        with books() as db:
            rows = deadlines.obligations(db)
        return {"today": day.isoformat(), "dashboard": deadlines.dashboard(rows, day),
                "obligations": [{"obligation_no": r.obligation_no, "title": r.title,
                                 "department": r.department, "area": r.area, "due": r.due,
                                 "published_on": r.published_on, "state": r.state(day)} for r in rows]}  # fmt: skip

    @router.get("/disclosures", tags=["disclosure"])
    def get_disclosures(request: Request, authorization: Auth = None,
                        include_unpublished: bool = False) -> list[dict[str, Any]]:  # fmt: skip
        if include_unpublished:
            need(request, authorization)
        with books() as db:
            rows = deadlines.items(db)
        if include_unpublished:
            return rows
        return [r for r in rows if r["published_on"] is not None]

    @router.get("/disclosures/{item_no}", tags=["disclosure"])
    def get_disclosure(item_no: Code, request: Request,
                       authorization: Auth = None) -> dict[str, Any]:  # fmt: skip
        with books() as db:
            found = [r for r in deadlines.items(db) if r["item_no"] == item_no]
            trail = deadlines.trail(db, item_no)
        if not found:
            raise HTTPException(404, f"no disclosure item {item_no}")
        if found[0]["published_on"] is None:
            need(request, authorization)
        return dict(found[0], trail=trail)

    @router.get("/recipients", tags=["read models"])
    def get_recipients(request: Request, authorization: Auth = None,
                       audience: Literal["public", "village", "auditor"] = "public",
                       village: Annotated[str | None, Query(max_length=40)] = None,
                       category: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:  # fmt: skip
        if audience == "village":
            need(request, authorization)
        elif audience == "auditor":
            need(request, authorization, Role.AUDITOR)
        with books() as db:
            return recipient_lists.build(audience, db, services.ledger,
                                         recipient_lists.Filters(village=village, category=category))  # fmt: skip

    # --- the log -------------------------------------------------------------------------------

    @router.get("/log/checkpoint", response_class=PlainTextResponse, tags=["log"])
    def get_checkpoint() -> str:
        """The latest signed checkpoint (C2SP signed note, with witness cosignatures)."""
        with books() as db:
            note = checkpoints.latest(db) or checkpoints.make_checkpoint(
                db, services.origin, services.log_key()
            )
        return note.text()

    @router.get("/log/proof/inclusion", tags=["log"])
    def inclusion(index: Annotated[int, Query(ge=0)], size: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
        with books() as db:
            try:
                t = tree(db, size)
                proof = t.inclusion_proof(index)
            except (ValueError, ProofError) as error:
                raise InputError(str(error)) from None
            position, aggregate, version = leaf_of(db, index)
            root = t.root()
        return {"leaf_index": index, "tree_size": t.size, "root": _b64(root),
                "proof": [_b64(p) for p in proof], "position": position,
                "aggregate": aggregate, "version": version}  # fmt: skip

    @router.get("/log/proof/consistency", tags=["log"])
    def consistency(old: Annotated[int, Query(ge=1)], new: Annotated[int, Query(ge=1)]) -> dict[str, Any]:
        with books() as db:
            try:
                t_new, t_old = tree(db, new), tree(db, old)
                proof = t_new.consistency_proof(old) if old != new else []
            except (ValueError, ProofError) as error:
                raise InputError(str(error)) from None
            roots = t_old.root(), t_new.root()
        return {"size1": old, "size2": new, "root1": _b64(roots[0]), "root2": _b64(roots[1]),
                "proof": [_b64(p) for p in proof]}  # fmt: skip

    return router


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


__all__ = ["Callable", "CommandIntake", "api_router"]

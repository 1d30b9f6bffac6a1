"""The JSON endpoints the staff web app signs with: prepare a command, check an import, history.

The browser holds the official's private key and signs; the server never sees it. So that the
exact bytes to sign are built in one place (Python's RFC 8785 encoder and each command type's
``targets`` rule), the browser asks the server to *prepare* a command and signs what comes back
— after checking that the prepared payload says exactly the command, signer and body it asked
for (``static/staff/sign.js``). Preparing records nothing and needs no session: it is what
``ledger.commands.Signer`` does, without the signature.

``POST /api/v1/imports`` checks an uploaded sheet (CSV or XLSX, the raw file as the request
body, up to the app's 20 MB limit for paths ending in ``/imports``) with the importer's own
rules and returns every row prepared for signing, or the per-row report of what is wrong;
nothing is recorded until the browser posts the signed rows to ``/api/v1/commands/batch``,
all or nothing. ``GET /api/v1/history/{aggregate}`` lists one aggregate's events, for choosing
the event a correction corrects. Both need a session (cookie + ``X-CSRF-Token``, or bearer).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.bootstrap import Services
from api.importer import check_sheet
from api.sessions import Session, Sessions
from ledger import ids
from ledger.commands import Signer, payload_of, spec_of
from ledger.errors import InputError, WrongRole
from ledger.fields import Fields
from ledger.keys import PrivateKey, PublicKey
from ledger.registry import Registry

MAX_UPLOAD = 20_000_000  # the app's limit for paths ending in /imports (api.web)
MAX_ROWS = 5_000  # one all-or-nothing batch (api.http_api.Batch)
Auth = Annotated[str | None, Header(include_in_schema=False)]


def session_of(sessions: Sessions, request: Request, authorization: str | None) -> Session | None:
    """The caller's session: a bearer token, or the web app's cookie (CSRF-checked when unsafe)."""
    if authorization and authorization.lower().startswith("bearer "):
        return sessions.get(authorization[7:].strip())
    session = sessions.get(request.cookies.get("gk_session"))
    if session is not None and request.method not in ("GET", "HEAD", "OPTIONS") and (
        request.headers.get("x-csrf-token") != session.csrf
    ):
        raise HTTPException(403, "missing or wrong X-CSRF-Token")
    return session


def need_session(sessions: Sessions, request: Request, authorization: str | None) -> Session:
    session = session_of(sessions, request, authorization)
    if session is None:
        raise HTTPException(401, "sign in: this needs a session (expired sessions need a new one)",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return session


class _Unsigned(PrivateKey):
    """Stands in for an official's key on the server: ``Signer`` builds the exact payload with
    it, and the signature is left empty for the browser, which holds the real key, to make."""

    def __init__(self, public: PublicKey) -> None:  # no private key here, by design
        self.public = public

    def sign(self, message: bytes) -> bytes:
        return b""


def unsigned_signer(registry: Registry, key_id: str, cmd: str) -> Signer:
    """A ``Signer`` for an enrolled, unrevoked official whose role may sign ``cmd``."""
    spec = spec_of(cmd)
    official = registry.official(key_id)  # UnknownKey, RevokedKey
    if official.role not in spec.roles:
        raise WrongRole(f"{official.name} ({official.role.value}) may not sign {cmd}; "
                        f"it is signed by: {', '.join(sorted(r.value for r in spec.roles))}")  # fmt: skip
    return Signer(_Unsigned(official.public_key), registry.jurisdiction)


class SealedIn(BaseModel):
    subject: str = Field(max_length=80, description="whose personal data: a pseudonym or donor:<receipt>")
    data: dict[str, Any]


class PrepareIn(BaseModel):
    cmd: str = Field(max_length=64)
    body: dict[str, Any]
    key_id: str = Field(max_length=64, description="the key that will sign")
    idem: str | None = Field(default=None, max_length=200, description="idempotency key (default: the nonce)")
    sealed: SealedIn | None = None


class Prepared(BaseModel):
    cmd: str
    idem: str
    targets: list[str]
    signed: str = Field(description="the RFC 8785 JSON text to sign, exactly (UTF-8)")
    sealed: str | None = Field(description="the sealed part to send beside it (personal data)")


def prepared(signer: Signer, cmd: str, body: dict[str, Any], *, idem: str | None = None,
             sealed: SealedIn | None = None, at: datetime | None = None) -> Prepared:  # fmt: skip
    envelope = signer.sign(cmd, body, idem=idem, at=at,
                           sealed=sealed.data if sealed else None, subject=sealed.subject if sealed else None)  # fmt: skip
    payload = payload_of(envelope.signed)
    return Prepared(cmd=cmd, idem=payload["idem"], targets=payload["targets"],
                    signed=envelope.signed.decode("utf-8"),
                    sealed=envelope.sealed.decode("utf-8") if envelope.sealed else None)  # fmt: skip


def aggregate_ref(jurisdiction: str, text: str) -> UUID:
    """``fund:CODE``, ``program:CODE``, ``store:CODE``, ``receipt:NO``, ``pledge:NO`` or a UUID."""
    kind, _, code = text.partition(":")
    makers = {"fund": ids.fund_id, "program": ids.program_id, "store": ids.store_id,
              "receipt": ids.donation_id, "pledge": ids.pledge_id}  # fmt: skip
    if code and kind in makers:
        return makers[kind](jurisdiction, code)
    try:
        return UUID(text)
    except ValueError:
        raise InputError(f"{text!r}: name an aggregate as fund:CODE, program:CODE, store:CODE, "
                         "receipt:NO, pledge:NO or a UUID", field="aggregate") from None  # fmt: skip


def staff_api_router(services: Services, sessions: Sessions, lock: threading.RLock) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.post("/commands/prepare", response_model=Prepared, tags=["commands"])
    def prepare(request_body: PrepareIn) -> Prepared:
        """The exact payload to sign for a command (``at``, nonce, ``idem``, ``targets`` filled
        in); records nothing. Sign ``signed`` and post it to ``/api/v1/commands``."""
        spec_of(request_body.cmd).validate(Fields(request_body.body))
        with lock:
            signer = unsigned_signer(services.ledger.registry(), request_body.key_id, request_body.cmd)
        return prepared(signer, request_body.cmd, request_body.body, idem=request_body.idem,
                        sealed=request_body.sealed)  # fmt: skip

    @router.post("/imports", tags=["imports"], openapi_extra={"requestBody": {
        "required": True, "description": "the sheet's bytes (CSV or XLSX), as they are",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})  # fmt: skip
    async def check_import(request: Request, authorization: Auth = None,
                           name: Annotated[str, Query(max_length=200, description="the file's name")] = "import.csv",
                           ) -> dict[str, Any]:  # fmt: skip
        """Check a donations or disbursements sheet: 422 with every bad row, or every row
        prepared for the signed-in official to sign (nothing is recorded here)."""
        session = need_session(sessions, request, authorization)
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_UPLOAD:
                raise HTTPException(413, f"uploads are limited to {MAX_UPLOAD} bytes")
        if not data:
            raise InputError("the request body must be the sheet's bytes (CSV or XLSX)")

        def check() -> dict[str, Any]:
            now = datetime.now(UTC)
            with lock:
                sheet = check_sheet(services.ledger, name, bytes(data))
                signer = unsigned_signer(services.ledger.registry(), session.official.key_id, sheet.cmd)
            if len(sheet.rows) > MAX_ROWS:
                raise InputError(f"{len(sheet.rows)} rows: the web app imports at most {MAX_ROWS} "
                                 "rows at once; split the sheet or use `gongkai import`")  # fmt: skip
            rows = [{"row": r.number, "body": r.body,
                     "prepared": prepared(signer, sheet.cmd, r.body, idem=r.idem, at=now).model_dump()}
                    for r in sheet.rows]  # fmt: skip
            return {"file": sheet.name, "kind": sheet.kind, "cmd": sheet.cmd, "sha256": sheet.sha256,
                    "headers": sheet.headers, "rows": rows}  # fmt: skip

        return await run_in_threadpool(check)

    @router.get("/history/{aggregate}", tags=["read models"])
    def history(request: Request, aggregate: Annotated[str, Path(max_length=120)],
                authorization: Auth = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                before: Annotated[int | None, Query(ge=2)] = None) -> dict[str, Any]:  # fmt: skip
        """One aggregate's latest events (newest first), each marked correctable or not."""
        need_session(sessions, request, authorization)
        with lock:
            registry = services.ledger.registry()
            aggregate_id = aggregate_ref(registry.jurisdiction, aggregate)
            found = list(services.ledger.events.get(aggregate_id, desc=True, limit=limit,
                                                    lte=before - 1 if before else None))  # fmt: skip
        names = {o.key_id: o.name for o in registry.all()}
        events = []
        corrected: dict[int, int] = {}
        for event in found:  # newest first: a correction is seen before what it corrects
            signed = getattr(event, "signed", None)
            if not isinstance(signed, str):
                continue
            payload = payload_of(signed)
            version = int(event.originator_version)
            body = payload["body"]
            if payload["cmd"] == "correction.record" and body["corrects"]["aggregate"] == str(aggregate_id):
                corrected[int(body["corrects"]["version"])] = version
            spec = spec_of(payload["cmd"])
            # A command is corrected on its first target (the receipt, the appropriation, the fund
            # drawn on, the program or store); elsewhere, ``home`` names where.
            home = payload["targets"][0]
            events.append({"version": version, "event": type(event).__qualname__, "cmd": payload["cmd"],
                           "at": payload["at"], "by": payload["by"], "official": names.get(payload["by"]),
                           "body": body, "corrected_by": corrected.get(version),
                           "correctable": spec.correctable and home == str(aggregate_id) and version not in corrected,
                           "home": home if spec.correctable and home != str(aggregate_id) else None})  # fmt: skip
        return {"aggregate": str(aggregate_id), "events": events,
                "more": len(found) == limit and bool(found) and int(found[-1].originator_version) > 1}  # fmt: skip

    return router

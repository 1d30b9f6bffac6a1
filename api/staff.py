"""The staff web app (``/staff/``): server-rendered pages, signed in the official's browser.

Chinese first, English second. Every page is readable without JavaScript (lists, the inbox, the
deadline dashboard, the fund-flow overview); what must be *signed* needs it, because signing
happens in the browser with the official's own key and WebCrypto Ed25519 — the private key
never leaves the browser, and the server never sees the key file or its passphrase:

- Sign in (``static/staff/signin.js``): the official picks their key file (PKCS#8 PEM encrypted
  with PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC, as ``cryptography`` writes it) and types the
  passphrase; the page decrypts it with WebCrypto, signs the server's challenge and opens a
  session (HttpOnly cookie + CSRF token, ``api.sessions``). The decrypted key is kept for the
  session as a *non-extractable* WebCrypto key in the browser's IndexedDB — script can sign
  with it but cannot read it — and deleted on sign-out or when the session expires.
- Every form builds a command body, asks ``POST /api/v1/commands/prepare`` for the exact bytes
  to sign, checks they say what the form said, signs them and posts them (``api.staff_api``).

Pages need a session (else they redirect to the sign-in page) and are never cached. No inline
script or style: the CSP forbids both. Nothing here writes: every write is a signed command.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.bootstrap import Services
from api.config import ConfigurationError
from api.sessions import Session, Sessions
from api.staff_api import session_of, staff_api_router
from ledger.catalogue import (
    APPROPRIATION_LEVELS,
    AREAS,
    CATEGORIES,
    CHANNELS,
    DEPARTMENTS,
    DOCUMENT_KINDS,
    DONOR_CLASSES,
    INFO_KINDS,
    ROLE_LABELS,
    Role,
)
from ledger.checkpoint import Checkpoint
from ledger.disclosure import REPORTS
from ledger.errors import LedgerError
from ledger.money import format_wan, format_yuan
from ledger.workdays import clock
from projections import balances, checkpoints, deadlines
from projections.reports import Scope, flow_report
from projections.sql import Database

CHINA = timezone(timedelta(hours=8))
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
TEMPLATES.filters["yuan"] = format_yuan
TEMPLATES.filters["wan"] = format_wan

# form slug -> (command, Chinese title, English title)
FORMS: dict[str, tuple[str, str, str]] = {
    "donation": ("donation.receive", "登记捐赠", "Record a donation"),
    "appropriation": ("appropriation.receive", "登记财政拨款", "Record an appropriation"),
    "allocation": ("allocation.make", "资金分配到项目", "Allocate to a program"),
    "disbursement": ("disbursement.make", "发放救助金", "Pay a recipient"),
    "goods-issue": ("goods.issue", "物资出库", "Issue goods"),
}
REPORT_LABELS = {"flows": "资金流向 Fund flows", "recipients": "救助对象 Recipients",
                 "goods": "物资收发 Goods", "trace": "捐赠追踪 Donation trace"}  # fmt: skip
STATUS_LABELS = {"drafted": "草稿", "submitted": "待审核", "reviewed": "已审核", "posted": "公示中",
                 "approved": "已审批", "published": "已发布", "filed": "已备案",
                 "corrected": "已更正", "withdrawn": "已撤回"}  # fmt: skip
STATE_LABELS = {"due": "待公开", "overdue": "逾期未公开", "late": "逾期公开", "on_time": "按时公开"}
assert set(REPORT_LABELS) == REPORTS


def today() -> date:
    """The town's day (China Standard Time), whatever the server's zone."""
    return datetime.now(CHINA).date()


def staff_router(services: Services, sessions: Sessions, lock: threading.RLock) -> APIRouter:
    """The staff pages, and the JSON endpoints they sign with (``api.staff_api``)."""
    router = APIRouter()
    router.include_router(staff_api_router(services, sessions, lock))

    @contextmanager
    def books() -> Iterator[Database]:
        with lock:
            yield services.read_models()

    def jurisdiction() -> str:
        with lock:
            if not services.ledger.is_initialised():
                raise HTTPException(503, "the ledger is not initialised (gongkai init)")
            return services.ledger.registry().jurisdiction

    def page(template: str, session: Session | None, **context: Any) -> HTMLResponse:
        html = TEMPLATES.get_template(f"staff/{template}").render(
            jurisdiction=jurisdiction(), official=session.official if session else None,
            role_labels=ROLE_LABELS, departments=DEPARTMENTS, areas=AREAS, categories=CATEGORIES,
            statuses=STATUS_LABELS, today=today().isoformat(), Role=Role, **context)  # fmt: skip
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    def signed_in(request: Request) -> Session:
        session = session_of(sessions, request, None)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise _SignIn(target)
        return session

    @router.get("/staff", include_in_schema=False)
    def staff_root() -> RedirectResponse:
        return RedirectResponse("/staff/", status_code=308)

    @router.get("/staff/", include_in_schema=False, response_class=HTMLResponse)
    def home(request: Request, next_page: Annotated[str | None, Query(alias="next", max_length=300)] = None) -> Response:
        session = session_of(sessions, request, None)
        target = _staff_path(next_page)
        if session is None:
            return page("signin.html", None, next_page=target)
        if next_page and target != "/staff/":
            return RedirectResponse(target, status_code=303)
        with books() as db:
            waiting = _inbox(db, session, today())
        return page("home.html", session, forms=FORMS,
                    waiting=sum(len(g["items"]) for g in waiting if g["action"]))  # fmt: skip

    @router.get("/staff/signin", include_in_schema=False, response_class=HTMLResponse)
    def signin(next_page: Annotated[str | None, Query(alias="next", max_length=300)] = None) -> Response:
        """The sign-in page, also with a session: to load the key into this browser again."""
        return page("signin.html", None, next_page=_staff_path(next_page))

    @router.get("/staff/record/{form}", include_in_schema=False, response_class=HTMLResponse)
    def record(request: Request, form: str) -> Response:
        session = signed_in(request)
        if form not in FORMS:
            raise HTTPException(404, f"no form {form!r}")
        cmd, title, title_en = FORMS[form]
        with books() as db:
            accounts = balances.accounts(db)
            officials = balances.officials(db)
        approvers = [o for o in officials if o["revoked_at"] is None and o["key_id"] != session.official.key_id
                     and o["role"] in (Role.DEPARTMENT_HEAD.value, Role.LEADER.value)]  # fmt: skip
        return page(f"record_{form.replace('-', '_')}.html", session, form=form, cmd=cmd, title=title,
                    title_en=title_en, funds=[a for a in accounts if a.kind == "fund"],
                    programs=[a for a in accounts if a.kind == "program"],
                    stores=[a for a in accounts if a.kind == "store"], approvers=approvers,
                    donor_classes=DONOR_CLASSES, levels=APPROPRIATION_LEVELS)  # fmt: skip

    @router.get("/staff/correction", include_in_schema=False, response_class=HTMLResponse)
    def correction(request: Request) -> Response:
        return page("correction.html", signed_in(request))

    @router.get("/staff/disclosures/new", include_in_schema=False, response_class=HTMLResponse)
    def draft(request: Request) -> Response:
        session = signed_in(request)
        with books() as db:
            open_obligations = [o for o in deadlines.obligations(db) if o.item_no is None]
            accounts = balances.accounts(db)
            drafted = len(deadlines.items(db))
            # A report item binds to a signed checkpoint of the log as it stands (as the CLI does).
            try:
                cp: Checkpoint | None = checkpoints.make_checkpoint(db, services.origin, services.log_key()).checkpoint
            except (LedgerError, ConfigurationError):
                cp = None
        day = today()
        return page("draft.html", session, kinds=INFO_KINDS, reports=REPORT_LABELS,
                    doc_kinds=DOCUMENT_KINDS, obligations=open_obligations,
                    funds=[a for a in accounts if a.kind == "fund"],
                    checkpoint={"size": cp.size, "root": base64.b64encode(cp.root).decode()} if cp else None,
                    suggested=f"GK-{day:%Y%m%d}-{drafted + 1:04d}")  # fmt: skip

    @router.get("/staff/inbox", include_in_schema=False, response_class=HTMLResponse)
    def inbox(request: Request) -> Response:
        session = signed_in(request)
        day = today()
        with books() as db:
            groups = _inbox(db, session, day)
        try:
            posting_ends = clock("posting_period", day).due.isoformat()
        except LedgerError:  # a year the working-day calendar does not know yet
            posting_ends = None
        return page("inbox.html", session, groups=groups, channels=CHANNELS, posting_ends=posting_ends)

    @router.get("/staff/imports", include_in_schema=False, response_class=HTMLResponse)
    def imports(request: Request) -> Response:
        return page("imports.html", signed_in(request))

    @router.get("/staff/deadlines", include_in_schema=False, response_class=HTMLResponse)
    def deadline_dashboard(request: Request) -> Response:
        session = signed_in(request)
        day = today()
        with books() as db:
            rows = deadlines.obligations(db)
        board = deadlines.dashboard(rows, day)
        open_rows = sorted((r for r in rows if r.published_on is None), key=lambda r: r.due)
        return page("deadlines.html", session, board=board, open_rows=open_rows, day=day,
                    state_labels=STATE_LABELS, done=sum(r.published_on is not None for r in rows))  # fmt: skip

    @router.get("/staff/flows", include_in_schema=False, response_class=HTMLResponse)
    def flows(request: Request, start: date | None = None, end: date | None = None,
              area: Annotated[str | None, Query(max_length=40)] = None,
              fund: Annotated[str | None, Query(max_length=40)] = None) -> Response:  # fmt: skip
        session = signed_in(request)
        scope = Scope(start, end, area if area in AREAS else None, fund or None)
        with books() as db:
            report = flow_report(db, scope)
            funds = [a for a in balances.accounts(db) if a.kind == "fund"]
        return page("flows.html", session, report=report, scope=scope, funds=funds,
                    donor_classes=DONOR_CLASSES, levels=APPROPRIATION_LEVELS)  # fmt: skip

    return router


def _staff_path(path: str | None) -> str:
    """Where to go after signing in: a page of this app, never another site."""
    return path if path and path.startswith("/staff/") and "//" not in path else "/staff/"


class _SignIn(HTTPException):
    """Raised by a page that needs a session: answered by a redirect to the sign-in page."""

    def __init__(self, target: str) -> None:
        super().__init__(303, "sign in first", headers={"Location": "/staff/?next=" + quote(target, safe="/")})


def _inbox(db: Database, session: Session, day: date) -> list[dict[str, Any]]:
    """The items waiting for this official, grouped by the step they can sign, then the rest of
    their department's items in progress (read only)."""
    official = session.official
    role = official.role
    items = deadlines.items(db)
    extra = {r[0]: (json.loads(r[1]), r[2]) for r in db.query("SELECT item_no, content, summary FROM gk_disclosures")}
    objections = dict(db.query("SELECT item_no, COUNT(*) FROM gk_feedback WHERE kind = 'objection' "
                               "AND response IS NULL GROUP BY item_no"))  # fmt: skip
    mine = [i for i in items if role not in (Role.RECORDER, Role.DEPARTMENT_HEAD) or i["department"] == official.department]
    for item in mine:
        item["content"], item["summary"] = extra.get(item["item_no"], ({}, None))
        item["objections"] = int(objections.get(item["item_no"], 0))
    done = {"published", "filed", "corrected", "withdrawn"}

    def ready_to_approve(i: dict[str, Any]) -> bool:
        if i["objections"]:
            return False
        if i["posting"]:
            return i["status"] == "posted" and i["posting_ends"] is not None and day.isoformat() > i["posting_ends"]
        return bool(i["status"] == "reviewed")

    groups: list[tuple[str | None, str, str, list[dict[str, Any]]]] = []
    if role is Role.RECORDER:
        groups += [("disclosure.submit", "待提交审核", "Drafts to submit for review",
                    [i for i in mine if i["status"] == "drafted"]),
                   ("disclosure.publish", "已审批，待发布", "Approved, to publish",
                    [i for i in mine if i["status"] == "approved"])]  # fmt: skip
    elif role is Role.DEPARTMENT_HEAD:
        groups += [("disclosure.review", "待审核", "Submitted for your review",
                    [i for i in mine if i["status"] == "submitted"]),
                   ("disclosure.post", "已审核，待公示", "Reviewed lists to post for objections (公示)",
                    [i for i in mine if i["status"] == "reviewed" and i["posting"]])]  # fmt: skip
    elif role is Role.LEADER:
        groups += [("disclosure.approve", "待审批", "Reviewed, waiting for your approval",
                    [i for i in mine if ready_to_approve(i)])]  # fmt: skip
    elif role is Role.OFFICE_FILER:
        groups += [("disclosure.file", "已发布，待备案", "Published, to file (备案)",
                    [i for i in mine if i["status"] == "published"]),
                   ("disclosure.publish", "已审批，待发布", "Approved, to publish",
                    [i for i in mine if i["status"] == "approved"])]  # fmt: skip
    acted = {i["item_no"] for g in groups for i in g[3]}
    groups.append((None, "办理中", "In progress (nothing for you to sign)",
                   [i for i in mine if i["status"] not in done and i["item_no"] not in acted]))  # fmt: skip
    out = []
    for action, title, title_en, members in groups:
        for item in members:
            item["trail"] = deadlines.trail(db, item["item_no"])
        out.append({"action": action, "title": title, "title_en": title_en, "items": members})
    return out


__all__ = ["FORMS", "staff_router"]

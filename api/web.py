"""The HTTP app: for now the health check, a first page of funds and balances, and its JSON.

Chinese first (zh-CN), English second. Pages are Jinja2 templates with autoescaping; no
inline script; security headers on every response.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.bootstrap import Services, bootstrap
from api.config import Settings
from api.group_commit import GroupCommit
from api.http_api import CommandIntake, api_router
from api.problems import (
    UNAVAILABLE,
    on_database_unavailable,
    on_http_error,
    on_ledger_error,
    on_validation_error,
    problem,
)
from api.sessions import Sessions
from api.staff import staff_router
from ledger.catalogue import AREAS, CATEGORIES, DEPARTMENTS
from ledger.errors import LedgerError
from ledger.money import format_wan, format_yuan
from projections import balances

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
TEMPLATES.filters["yuan"] = format_yuan
TEMPLATES.filters["wan"] = format_wan

MAX_BODY = 1_000_000
MAX_UPLOAD = 20_000_000

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class Guard:
    """Every HTTP response gets the security headers; a body announced larger than its limit
    is refused (413) before it is read. Requests in ``shortcuts`` (method, path) go straight to
    their ASGI app (``api.http_api.CommandIntake``), the others to the framework.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs each request through
    an extra task and stream, which cost more than a whole ``/healthz`` answer here.
    """

    def __init__(self, app: ASGIApp, shortcuts: Mapping[tuple[str, str], ASGIApp] | None = None) -> None:
        self.app = app
        self.shortcuts = dict(shortcuts or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bulk = str(scope["path"]).endswith(("/imports", "/commands/batch"))
        limit = MAX_UPLOAD if bulk else MAX_BODY
        length = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > limit):
            response = problem(413, "http_413", "Request too large", "请求过大",
                               f"request bodies are limited to {limit} bytes")  # fmt: skip
            response.headers.update(SECURITY_HEADERS)
            await response(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        target = self.shortcuts.get((scope["method"], scope["path"]), self.app)
        await target(scope, receive, with_headers)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While serving, what the process built to start (modules, routes, the ledger's registry)
    is left out of garbage collection (``gc.freeze``): it lives as long as the server, and each
    full collection walked those ~150,000 objects, pausing every request in flight (16 pauses
    of up to 0.14 s in one 20-second HTTP benchmark run). Collections now walk what was made
    since. Stopping gives them back (an app started again and again, as in tests, would leave
    each old one uncollectable)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def create_app(settings: Settings) -> FastAPI:
    services = bootstrap(settings)
    lock = threading.RLock()
    sessions = Sessions()
    app = FastAPI(title="gongkai 公开", version="0.1.0",
                  description="A verifiable ledger for relief funds and donations (流长镇).",
                  lifespan=_lifespan)
    app.add_exception_handler(LedgerError, on_ledger_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, on_database_unavailable)
    committer = GroupCommit(lambda: services.ledger, lock)
    app.include_router(api_router(services, sessions, lock, committer))
    app.include_router(staff_router(services, sessions, lock))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    if (settings.site_dir / "index.html").is_file():
        # The published portal (`gongkai publish --out DIR`), served from the same process.
        app.mount("/portal", StaticFiles(directory=settings.site_dir, html=True), name="portal")

    app.add_middleware(Guard, shortcuts={("POST", "/api/v1/commands"): CommandIntake(committer)})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        with lock:
            rows = balances.accounts(services.read_models())
            jurisdiction = (
                services.ledger.registry().jurisdiction
                if services.ledger.is_initialised()
                else "（未初始化）"
            )
        html = TEMPLATES.get_template("home.html").render(
            jurisdiction=jurisdiction,
            funds=[r for r in rows if r.kind == "fund"],
            programs=[r for r in rows if r.kind == "program"],
            stores=[r for r in rows if r.kind == "store"],
            categories=CATEGORIES,
            areas=AREAS,
            departments=DEPARTMENTS,
        )
        return HTMLResponse(html)

    app.state.services = services
    app.state.sessions = sessions
    return app


__all__ = ["Services", "create_app"]

"""The HTTP app: for now the health check, a first page of funds and balances, and its JSON.

Chinese first (zh-CN), English second. Pages are Jinja2 templates with autoescaping; no
inline script; security headers on every response.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.bootstrap import Services, bootstrap
from api.config import Settings
from ledger.catalogue import AREAS, CATEGORIES, DEPARTMENTS
from ledger.money import format_wan, format_yuan
from projections import balances

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
TEMPLATES.filters["yuan"] = format_yuan
TEMPLATES.filters["wan"] = format_wan

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings) -> FastAPI:
    services = bootstrap(settings)
    lock = threading.Lock()
    app = FastAPI(title="gongkai 公开", version="0.1.0")
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/balances")
    def balances_json() -> JSONResponse:
        with lock:
            rows = balances.accounts(services.read_models())
        return JSONResponse([r.to_json() for r in rows])

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
    return app


__all__ = ["Services", "create_app"]

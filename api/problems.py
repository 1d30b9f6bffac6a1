"""RFC 9457 problem details: every refusal of the API, in English and Chinese, in one place.

Domain errors (``LedgerError``) map to a status by their class; malformed requests are 400/422;
nothing a client sends may cause a 5xx. A database that is down or unreachable (``UNAVAILABLE``:
the event store's and psycopg's operational and interface errors, a pool that timed out) is
503 with ``Retry-After``: the command was not recorded, or was and a retry with the same
idempotency key says so. The body is ``application/problem+json``:

    {"type": "urn:gongkai:problem:<code>", "title": "...", "title_zh": "...", "status": 403,
     "detail": "<the domain error's message>", "code": "<code>"}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import eventsourcing.persistence
import psycopg
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import errors
from projections.store import DatabaseUnavailable

PROBLEM = "application/problem+json"
RETRY_AFTER = 5  # seconds; a restarted database is usually back well within this
UNAVAILABLE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
    psycopg.OperationalError,  # also the pool's PoolTimeout
    psycopg.InterfaceError,
)

# class -> (status, English title, Chinese title); the first matching base class wins.
_TABLE: list[tuple[type[errors.LedgerError], int, str, str]] = [
    (errors.IdempotencyConflict, 409, "Idempotency key reused", "幂等键已用于其他命令"),
    (errors.AlreadyExists, 409, "Already recorded", "已有记录"),
    (errors.NotFound, 404, "Not found", "未找到"),
    (errors.UnknownKey, 401, "Unknown key", "密钥未登记"),
    (errors.BadSignature, 401, "Bad signature", "签名无效"),
    (errors.RevokedKey, 403, "Revoked key", "密钥已撤销"),
    (errors.WrongRole, 403, "Wrong role", "角色无权办理"),
    (errors.WrongDepartment, 403, "Wrong department", "非本部门事项"),
    (errors.SeparationOfDuties, 403, "Separation of duties", "不相容职务须分离"),
    (errors.AuthorizationError, 403, "Not authorised", "无权办理"),
    (errors.VerificationError, 401, "Verification failed", "验证失败"),
    (errors.BatchRejected, 422, "Batch refused", "批量命令被拒绝"),
    (errors.ImportRejected, 422, "Import refused", "导入被拒绝"),
    (errors.InputError, 400, "Bad input", "输入有误"),
    (errors.InsufficientBalance, 422, "Insufficient balance", "余额不足"),
    (errors.DirectedMisuse, 422, "Directed money misused", "定向款物不得挪作他用"),
    (errors.ObjectionPending, 409, "Objection pending", "公示异议尚未答复"),
    (errors.WorkflowError, 409, "Out of order", "办理顺序有误"),
    (errors.InvariantViolation, 422, "Refused by the rules of the books", "违反账务规则"),
    (errors.LedgerError, 400, "Refused", "请求被拒绝"),
]


def problem(status: int, code: str, title: str, title_zh: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:gongkai:problem:{code}", "title": title, "title_zh": title_zh,
            "status": status, "detail": detail, "code": code, **extra}  # fmt: skip
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def ledger_problem(error: errors.LedgerError) -> JSONResponse:
    for kind, status, title, title_zh in _TABLE:
        if isinstance(error, kind):
            extra: dict[str, Any] = {}
            if error.field:
                extra["field"] = error.field
            if isinstance(error, errors.BatchRejected):
                extra["problems"] = [{"index": i, "code": e.code, "detail": e.message, "field": e.field}
                                     for i, e in error.problems]  # fmt: skip
            if isinstance(error, errors.ImportRejected):
                extra["problems"] = [{"row": r, "column": c, "detail": m} for r, c, m in error.problems]
            return problem(status, error.code, title, title_zh, error.message, **extra)
    raise AssertionError("LedgerError is the last row")  # pragma: no cover


async def on_ledger_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.LedgerError)
    return ledger_problem(error)


def validation_problem(errors: Sequence[Any]) -> JSONResponse:
    """422 for a request that does not have the declared shape: each error's place and message."""
    details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors)
    return problem(422, "invalid_request", "Invalid request", "请求格式有误", details)


async def on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return validation_problem(error.errors())


async def on_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    titles = {401: ("Not signed in", "未登录"), 403: ("Forbidden", "禁止访问"),
              404: ("Not found", "未找到"), 405: ("Method not allowed", "不支持的方法"),
              413: ("Request too large", "请求过大"), 429: ("Too many requests", "请求过于频繁")}  # fmt: skip
    title, title_zh = titles.get(error.status_code, ("Request refused", "请求被拒绝"))
    response = problem(error.status_code, f"http_{error.status_code}", title, title_zh, str(error.detail))
    if error.headers:
        response.headers.update(error.headers)
    return response


def unavailable_problem() -> JSONResponse:
    """503 with ``Retry-After`` for a database that cannot be reached (``UNAVAILABLE``)."""
    response = problem(503, "database_unavailable", "Service unavailable", "服务暂时不可用",
                       "the database cannot be reached just now; retry the same request "
                       "(with the same idempotency key) shortly")  # fmt: skip
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


async def on_database_unavailable(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, UNAVAILABLE)
    return unavailable_problem()

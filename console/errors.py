"""JSON errors with a code and a message, for every route.

The store unavailable (read-only, locked, down) is 503 `store_unavailable` with Retry-After, not a
500: the agent's page says so and tries again; the log gets one line per streak, not a traceback
per request.
"""
from __future__ import annotations

import time

import sqlalchemy as sa
from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.response import json

from assist.store import Claimed, StoreError, StoreUnavailable, is_unavailable, short_error

RETRY_AFTER_SECONDS = 2
QUIET_SECONDS = 30.0  # one log line per outage seen by requests, then one per this long


class OutageLog:
    """Logs "the store is unavailable" once, then at most once per `quiet` seconds."""

    def __init__(self, quiet: float = QUIET_SECONDS):
        self.quiet, self.last, self.hidden = quiet, None, 0

    def note(self, logger, path: str, error: BaseException) -> None:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.quiet:
            self.hidden += 1
            return
        more = f" ({self.hidden} more requests refused since the last line)" if self.hidden else ""
        logger.warning("store unavailable on %s: %s; answering 503%s", path, short_error(error), more)
        self.last, self.hidden = now, 0


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_body(code: str, message: str, **extra):
    return {"error": {"code": code, "message": message, **extra}}


def register_error_handlers(app: Sanic) -> None:
    @app.exception(ApiError)
    async def api_error(request, error: ApiError):
        return json(error_body(error.code, error.message, **error.extra), status=error.status)

    outages = OutageLog()

    def unavailable(request, error: BaseException):
        outages.note(app.ctx.logger, request.path, error)
        return json(error_body(StoreUnavailable.code, "案件库暂时不可用，本次操作没有生效，请稍后再试 (the case store is "
                               "unavailable right now: read-only, locked or down; nothing was changed)"),
                    status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception(StoreError)
    async def store_error(request, error: StoreError):
        if isinstance(error, StoreUnavailable):
            return unavailable(request, error)
        extra = {"claimed_by": error.claimed_by} if isinstance(error, Claimed) else {}
        return json(error_body(error.code, str(error), **extra), status=error.status)

    @app.exception(sa.exc.SQLAlchemyError)
    async def database_error(request, error: sa.exc.SQLAlchemyError):
        if is_unavailable(error):
            return unavailable(request, error)
        return await unexpected(request, error)

    @app.exception(SanicException)
    async def sanic_error(request, error: SanicException):
        status = getattr(error, "status_code", 500)
        if status == 413 and "header" in str(error).lower():
            # Sanic says 413 for headers over REQUEST_MAX_HEADER_SIZE (8 KB); HTTP's answer is 431.
            return json(error_body("headers_too_large", "the request's headers are over 8 KB"), status=431)
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(status, "bad_request" if status < 500 else "server_error")
        return json(error_body(code, str(error) or code), status=status)

    @app.exception(Exception)
    async def unexpected(request, error: Exception):
        app.ctx.logger.exception("unhandled error on %s", request.path)
        return json(error_body("server_error", "something went wrong on our side; it has been logged"), status=500)

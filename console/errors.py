"""JSON errors with a code and a message, for every route."""
from __future__ import annotations

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.response import json

from assist.store import Claimed, StoreError


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

    @app.exception(StoreError)
    async def store_error(request, error: StoreError):
        extra = {"claimed_by": error.claimed_by} if isinstance(error, Claimed) else {}
        return json(error_body(error.code, str(error), **extra), status=error.status)

    @app.exception(SanicException)
    async def sanic_error(request, error: SanicException):
        status = getattr(error, "status_code", 500)
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(status, "bad_request" if status < 500 else "server_error")
        return json(error_body(code, str(error) or code), status=status)

    @app.exception(Exception)
    async def unexpected(request, error: Exception):
        app.ctx.logger.exception("unhandled error on %s", request.path)
        return json(error_body("server_error", "something went wrong on our side; it has been logged"), status=500)

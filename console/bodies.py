"""Every JSON request body the console takes, parsed once into a model: strict types (pydantic 1.10
would otherwise turn 1 into "1" and "yes" into True), no unknown fields, and one clear 400:

    {"error": {"code": "malformed_json" | "missing_field" | "bad_field" | "unknown_field", "message": …}}

A string holding a lone surrogate (`"\\ud800"` alone: valid JSON, not text) is `bad_field` too.
"""
from __future__ import annotations

import json
import re
from typing import Any, Optional, Type, TypeVar

from pydantic import BaseModel, Extra, StrictBool, StrictInt, StrictStr, ValidationError, conint, constr, validator
from sanic import Request

from assist.shop.intents import INTENTS
from console.errors import ApiError

Body = TypeVar("Body", bound="Strict")


class Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


class Empty(Strict):
    """Routes that take no fields (resolve, release, logout): an empty object or no body."""


class Decision(Strict):
    batch: Optional[StrictInt] = None  # the batch the agent saw; a newer one makes this 409
    resolve: StrictBool = False
    idempotency_key: Optional[constr(strict=True, min_length=1, max_length=128)] = None


class Approve(Decision):
    draft_id: StrictInt


class Edit(Decision):
    text: StrictStr
    draft_id: Optional[StrictInt] = None
    override: StrictBool = False  # send despite block findings (recorded)
    # The batch the agent began editing on, when the customer wrote again meanwhile and the agent,
    # shown the new words, sends anyway (`batch` is then the newer batch they saw; recorded).
    written_for: Optional[StrictInt] = None


AGENT_NAME = constr(strict=True, min_length=1, max_length=64)
NOTE = constr(strict=True, max_length=500)


class Transfer(Strict):
    to: AGENT_NAME
    note: NOTE  # what the colleague should know; required


class Reassign(Strict):
    to: Optional[AGENT_NAME] = ...  # required; null puts the case back in the shared queue
    note: Optional[NOTE] = None


class Reject(Strict):
    reason: StrictStr
    batch: Optional[StrictInt] = None
    idempotency_key: Optional[constr(strict=True, min_length=1, max_length=128)] = None


class Check(Strict):
    text: StrictStr


class Claim(Strict):
    takeover: StrictBool = False


class Concern(Strict):
    concern: StrictStr

    @validator("concern")
    def _known(cls, value: str) -> str:
        if value not in INTENTS:
            raise ValueError(f"must be one of {', '.join(INTENTS)}")
        return value


class Login(Strict):
    name: StrictStr
    password: StrictStr


CONTEXT_VALUE = r"^[A-Za-z0-9_.:-]{1,64}$"


class ChatContext(Strict):
    order_id: Optional[constr(strict=True, regex=CONTEXT_VALUE)] = None
    customer_id: Optional[constr(strict=True, regex=CONTEXT_VALUE)] = None
    sig: Optional[StrictStr] = None


class Rating(Strict):
    case_id: StrictStr
    score: conint(strict=True, ge=1, le=5)


_SURROGATE = re.compile("[\ud800-\udfff]")


def not_text(value: Any, where: str = "") -> Optional[str]:
    """Where in a parsed JSON value a string holds a lone surrogate (JSON's "\\ud800" alone decodes
    to one; it cannot be stored or encoded as UTF-8, and OpenCC fails on it): its field, or None."""
    if isinstance(value, str):
        return where or "body" if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = not_text(key, where or "body") or not_text(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = not_text(item, f"{where}[{index}]")
            if found:
                return found
    return None


def parse(request: Request, model: Type[Body]) -> Body:
    """The request's JSON object as `model`, or ApiError(400) naming the first bad field."""
    if not request.body:
        raw = {}
    else:
        try:
            raw = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "malformed_json", "the request body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise ApiError(400, "malformed_json", "the request body must be a JSON object")
    broken = not_text(raw)
    if broken:
        raise ApiError(400, "bad_field", f"'{broken}': contains a lone surrogate (a \\ud800-\\udfff escape "
                                         "without its pair), which is not text") from None
    try:
        return model(**raw)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "value_error.missing":
            raise ApiError(400, "missing_field", f"'{field}' is required") from None
        if problem["type"] == "value_error.extra":
            raise ApiError(400, "unknown_field", f"'{field}' is not a field of this request") from None
        raise ApiError(400, "bad_field", f"'{field}': {problem['msg']}") from None
    except TypeError:  # a key that is not a valid identifier, e.g. "" or "1"
        raise ApiError(400, "unknown_field", "the request has a field this route does not take") from None

"""Rasa checks JSON against its own schemas on every turn, and jsonschema checks each schema first.

`jsonschema.validate(instance, schema)` (4.17) validates the *schema* against its meta-schema (draft 2020-12,
with dynamic references) before it validates the instance, on every call. Rasa calls it for every action
server answer (rasa/core/actions/action.py) and every /tracker/events body (rasa/server.py) — the console
pushes each approved text that way — with the same few schemas each time. Profiled under the scale-out
load (py-spy, bench/RESULTS.md), that re-check was about a quarter of a Rasa server's CPU.

Here a schema is checked once and its validator kept (a schema is known by its JSON text: Rasa builds the
action answer's schema afresh on every call); the instance is validated as before, raising the same errors.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict

import jsonschema
from jsonschema import exceptions, validators

logger = logging.getLogger(__name__)

_original_validate = jsonschema.validate
_validators: Dict[str, Any] = {}
MAX_SCHEMAS = 64  # Rasa uses a handful; a bound keeps a caller with ever-new schemas from growing it


def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """jsonschema.validate with each schema's own check done once."""
    if cls is not None or args or kwargs:
        return _original_validate(instance, schema, cls, *args, **kwargs)
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):
        return _original_validate(instance, schema)
    validator = _validators.get(key)
    if validator is None:
        kind = validators.validator_for(schema)
        kind.check_schema(schema)  # a bad schema raises SchemaError here, every time, as before
        validator = kind(schema)
        if len(_validators) < MAX_SCHEMAS:
            _validators[key] = validator
    error = exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


def install() -> None:
    """Make `jsonschema.validate` (as Rasa calls it) check each schema once (idempotent)."""
    if jsonschema.validate is not validate:
        jsonschema.validate = validate
        logger.info("kefu: JSON schemas are checked once, not on every turn (kefu_rasa/schema_check.py)")

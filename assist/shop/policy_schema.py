"""What a valid policy.yml is: its JSON schema, the slot names its FAQ answers may use, and what a
schema cannot say (ladder order, ceilings, a real time zone, known slots). Every problem is
reported with file and line by the loader (assist/shop/policy.py)."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from assist.shop.datafile import Locator
from assist.shop.errors import Problem
from assist.text.placeholders import slots_in, stray_braces

_RANGE = r"^\d+(-\d+)?$"
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
_STR_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}
_POS_INT = {"type": "integer", "minimum": 0}

SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "shop", "shipping", "returns", "payment", "after_sales", "business_hours", "pricing",
        "compensation", "follow_up_hours", "handoff", "channels", "faq",
    ],
    "properties": {
        "shop": {"type": "object", "additionalProperties": False, "required": ["name"],
                 "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 20}}},
        "shipping": {
            "type": "object", "additionalProperties": False,
            "required": ["dispatch_within_hours", "carriers", "delivery_days", "remote_regions",
                         "free_shipping_threshold"],
            "properties": {
                "dispatch_within_hours": {"type": "integer", "minimum": 1},
                "carriers": _STR_LIST,
                "delivery_days": {"type": "object", "additionalProperties": False,
                                  "required": ["default", "remote"],
                                  "properties": {"default": {"type": "string", "pattern": _RANGE},
                                                 "remote": {"type": "string", "pattern": _RANGE}}},
                "remote_regions": _STR_LIST,
                "free_shipping_threshold": _POS_INT,
            },
        },
        "returns": {
            "type": "object", "additionalProperties": False,
            "required": ["no_reason_days", "refund_window_days", "exchange_days", "refund_arrival_days",
                         "return_shipping", "damaged_remedy"],
            "properties": {
                "no_reason_days": _POS_INT, "refund_window_days": _POS_INT, "exchange_days": _POS_INT,
                "refund_arrival_days": {"type": "string", "pattern": _RANGE},
                "return_shipping": {"type": "string", "minLength": 1},
                "damaged_remedy": {"type": "string", "minLength": 1, "maxLength": 12},
            },
        },
        "payment": {"type": "object", "additionalProperties": False, "required": ["methods", "cod", "invoice", "invoice_delivery"],
                    "properties": {"methods": _STR_LIST, "cod": {"type": "boolean"},
                                   "invoice": {"type": "string", "minLength": 1},
                                   "invoice_delivery": {"type": "string", "minLength": 1}}},
        "after_sales": {"type": "object", "additionalProperties": False, "required": ["authenticity", "warranty"],
                        "properties": {"authenticity": {"type": "string", "minLength": 1},
                                       "warranty": {"type": "string", "minLength": 1},
                                       # optional: the FAQ entries that name them stay silent without them
                                       **{k: {"type": "string", "minLength": 1} for k in ("photos", "coupons", "delivery_hours")}}},
        "business_hours": {
            "type": "object", "additionalProperties": False, "required": ["timezone", "days", "open", "close"],
            "properties": {
                "timezone": {"type": "string"},
                "days": {"type": "array", "minItems": 1, "uniqueItems": True,
                         "items": {"type": "integer", "minimum": 1, "maximum": 7}},
                "open": {"type": "string", "pattern": _HHMM},
                "close": {"type": "string", "pattern": _HHMM},
            },
        },
        "pricing": {
            "type": "object", "additionalProperties": False,
            "required": ["coupon_ceiling", "haggling_ladder", "beyond_floor", "bundles"],
            "properties": {
                "coupon_ceiling": _POS_INT,
                "haggling_ladder": {
                    "type": "array", "minItems": 2,
                    "items": {"type": "object", "additionalProperties": False, "required": ["rung"],
                              "properties": {"rung": {"type": "string", "minLength": 1},
                                             "coupon": _POS_INT, "min_spend": _POS_INT,
                                             "max_discount_percent": {"type": "number", "minimum": 0,
                                                                      "maximum": 100}}},
                },
                "beyond_floor": {"enum": ["ask_supervisor"]},
                "bundles": _STR_LIST,
            },
        },
        "compensation": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {"type": "object", "additionalProperties": False, "required": ["min_days_late", "coupon"],
                          "properties": {"min_days_late": {"type": "integer", "minimum": 1}, "coupon": _POS_INT}},
            },
        },
        "follow_up_hours": {"type": "object", "required": ["default"],
                            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 168}},
        "handoff": {"type": "object", "additionalProperties": False, "required": ["wait_minutes"],
                    "properties": {"wait_minutes": {"type": "integer", "minimum": 1, "maximum": 240}}},
        "channels": {
            "type": "object", "required": ["default"],
            "additionalProperties": {"type": "object", "additionalProperties": False, "required": ["emoji"],
                                     "properties": {"emoji": {"type": "boolean"},
                                                    "emoji_text": {"type": "string", "minLength": 1,
                                                                   "maxLength": 2}}},
        },
        "faq": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": False, "required": ["id", "intents", "cues", "answer"],
                      "properties": {"id": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
                                     "intents": _STR_LIST, "cues": {**_STR_LIST, "minItems": 1},
                                     "answer": {"type": "string", "minLength": 1}}},
        },
    },
}


def day_range(text: str) -> Tuple[int, int]:
    low, _, high = text.partition("-")
    return int(low), int(high or low)


POLICY_SLOTS: Tuple[str, ...] = (
    "shop_name", "dispatch_within_hours", "carriers", "delivery_days", "remote_delivery_days", "remote_regions",
    "free_shipping_threshold", "no_reason_days", "refund_window_days", "exchange_days", "refund_arrival_days",
    "return_shipping", "damaged_remedy", "payment_methods", "cod_answer", "invoice", "invoice_delivery", "authenticity",
    "warranty", "open_time", "close_time", "business_days", "coupon_ceiling", "bundle", "first_coupon", "wait_minutes",
    "photos", "coupons", "delivery_hours",
)

def semantic_problems(data: Dict[str, Any], where: Locator) -> List[Problem]:
    """What a schema cannot say: ordering, ceilings, a real time zone, known slots."""
    problems: List[Problem] = []
    pricing = data["pricing"]
    ladder = pricing["haggling_ladder"]
    if ladder[0]["rung"] != "list_price" or ladder[0].get("coupon"):
        problems.append(where.problem(["pricing", "haggling_ladder", 0], "the ladder starts at list_price with no coupon"))
    coupons = [r.get("coupon", 0) for r in ladder]
    if coupons != sorted(coupons):
        problems.append(where.problem(["pricing", "haggling_ladder"], f"coupons must not go down the ladder: {coupons}"))
    for i, rung in enumerate(ladder):
        if rung.get("coupon", 0) > pricing["coupon_ceiling"]:
            problems.append(where.problem(["pricing", "haggling_ladder", i, "coupon"],
                                          f"coupon {rung['coupon']} is above coupon_ceiling {pricing['coupon_ceiling']}"))
    for concern, table in data["compensation"].items():
        days = [s["min_days_late"] for s in table]
        if days != sorted(set(days)):
            problems.append(where.problem(["compensation", concern], f"min_days_late must rise step by step: {days}"))
    hours = data["business_hours"]
    if hours["open"] >= hours["close"]:
        problems.append(where.problem(["business_hours", "close"], "close must be later than open"))
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(hours["timezone"])
    except ImportError:  # pragma: no cover - Python < 3.9
        pass
    except Exception:
        problems.append(where.problem(["business_hours", "timezone"], f"unknown time zone {hours['timezone']!r}"))
    for name in ("default", "remote"):
        low, high = day_range(data["shipping"]["delivery_days"][name])
        if low > high:
            problems.append(where.problem(["shipping", "delivery_days", name], "range runs backwards"))
    seen = set()
    for i, entry in enumerate(data["faq"]):
        if entry["id"] in seen:
            problems.append(where.problem(["faq", i, "id"], f"duplicate faq id {entry['id']!r}"))
        seen.add(entry["id"])
        answer = entry["answer"]
        for slot in slots_in(answer):
            if slot not in POLICY_SLOTS:
                problems.append(where.problem(["faq", i, "answer"], f"unknown slot {{{slot}}}; known: {', '.join(POLICY_SLOTS)}"))
        if stray_braces(answer):
            problems.append(where.problem(["faq", i, "answer"], "stray '{' or '}' (a slot is written {name})"))
    return problems

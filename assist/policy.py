"""The shop's policy (policy.yml) as frozen dataclasses the drafting code trusts.

Drafts may offer only what is here: coupons up to the ceiling, the haggling ladder,
compensation for days late, follow-up time frames, business hours. `load_policy` reports
every problem in the file at once, each as `file:line: path: message`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from .datafile import Locator, load_yaml, schema_problems
from .errors import DataError, Problem
from .placeholders import slots_in, stray_braces

DEFAULT_PATH = Path(__file__).with_name("policy.yml")
ENV_VAR = "KEFU_POLICY"

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
        "payment": {"type": "object", "additionalProperties": False, "required": ["methods", "cod", "invoice"],
                    "properties": {"methods": _STR_LIST, "cod": {"type": "boolean"},
                                   "invoice": {"type": "string", "minLength": 1}}},
        "after_sales": {"type": "object", "additionalProperties": False, "required": ["authenticity", "warranty"],
                        "properties": {"authenticity": {"type": "string", "minLength": 1},
                                       "warranty": {"type": "string", "minLength": 1}}},
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


def _range(text: str) -> Tuple[int, int]:
    low, _, high = text.partition("-")
    return int(low), int(high or low)


@dataclass(frozen=True)
class Shipping:
    dispatch_within_hours: int
    carriers: Tuple[str, ...]
    delivery_days: Mapping[str, str]
    remote_regions: Tuple[str, ...]
    free_shipping_threshold: int


@dataclass(frozen=True)
class Returns:
    no_reason_days: int
    refund_window_days: int
    exchange_days: int
    refund_arrival_days: str
    return_shipping: str
    damaged_remedy: str


@dataclass(frozen=True)
class Payment:
    methods: Tuple[str, ...]
    cod: bool
    invoice: str


@dataclass(frozen=True)
class BusinessHours:
    timezone: str
    days: Tuple[int, ...]
    open: str
    close: str

    def tz(self) -> tzinfo:
        try:
            from zoneinfo import ZoneInfo

            return ZoneInfo(self.timezone)
        except Exception:  # no tz database on the machine: China has one offset and no DST
            return timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Rung:
    """One step of the haggling ladder; `coupon` yuan off orders of at least `min_spend`."""

    rung: str
    coupon: int = 0
    min_spend: int = 0
    max_discount_percent: Optional[float] = None


@dataclass(frozen=True)
class Pricing:
    coupon_ceiling: int
    haggling_ladder: Tuple[Rung, ...]
    beyond_floor: str
    bundles: Tuple[str, ...]

    @property
    def floor(self) -> Rung:
        return self.haggling_ladder[-1]


@dataclass(frozen=True)
class CompensationStep:
    min_days_late: int
    coupon: int


@dataclass(frozen=True)
class FaqEntry:
    id: str
    intents: Tuple[str, ...]
    cues: Tuple[str, ...]
    answer: str


# eq=False: compared and hashed by identity, so it can key caches.
@dataclass(frozen=True, eq=False)
class Policy:
    source: str
    shop_name: str
    shipping: Shipping
    returns: Returns
    payment: Payment
    after_sales: Mapping[str, str]
    business_hours: BusinessHours
    pricing: Pricing
    compensation: Mapping[str, Tuple[CompensationStep, ...]]
    follow_up_hours: Mapping[str, int]
    wait_minutes: int
    channels: Mapping[str, Mapping[str, Any]]
    faq: Tuple[FaqEntry, ...]
    # The whole file as plain data, for the first-line bot's own lookups.
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    # ---- what drafts may offer -------------------------------------------------------
    def compensation_for(self, concern: str, days_late: Optional[int]) -> Optional[int]:
        """Coupon yuan owed for this many days late, or None when nothing is owed."""
        if not days_late or days_late <= 0:
            return None
        owed = None
        for step in self.compensation.get(concern, ()):
            if days_late >= step.min_days_late:
                owed = step.coupon
        return owed

    @property
    def money_ceiling(self) -> int:
        """The most any draft may put in a customer's hand without a supervisor."""
        steps = [s.coupon for table in self.compensation.values() for s in table]
        return max([self.pricing.coupon_ceiling, *steps])

    def follow_up_text(self, concern: str) -> str:
        hours = self.follow_up_hours.get(concern, self.follow_up_hours["default"])
        return f"{hours // 24}天内" if hours > 24 and hours % 24 == 0 else f"{hours}小时内"

    def emoji_for(self, channel: Optional[str]) -> Optional[str]:
        rules = self.channels.get(channel or "default", self.channels["default"])
        return rules.get("emoji_text", "😊") if rules.get("emoji") else None

    def time_frames(self) -> Dict[str, Tuple[int, ...]]:
        """Every time frame the policy names, by unit: a promise must use one of these."""
        days = {self.returns.no_reason_days, self.returns.refund_window_days, self.returns.exchange_days}
        for text in (self.returns.refund_arrival_days, *self.shipping.delivery_days.values()):
            days.update(_range(text))
        hours = {self.shipping.dispatch_within_hours, *self.follow_up_hours.values()}
        days.update(h // 24 for h in hours if h % 24 == 0)
        return {"小时": tuple(sorted(hours)), "天": tuple(sorted(days)),
                "分钟": (self.wait_minutes,)}

    # ---- slots for templates and FAQ answers ------------------------------------------
    def slots(self) -> Dict[str, str]:
        return _policy_slots(self)


def _policy_slots(p: Policy) -> Dict[str, str]:
    ladder = p.pricing.haggling_ladder
    first_coupon = next((r for r in ladder if r.coupon), ladder[-1])
    days = p.business_hours.days
    return {
        "shop_name": p.shop_name,
        "dispatch_within_hours": str(p.shipping.dispatch_within_hours),
        "carriers": "、".join(p.shipping.carriers),
        "delivery_days": p.shipping.delivery_days["default"],
        "remote_delivery_days": p.shipping.delivery_days["remote"],
        "remote_regions": "、".join(p.shipping.remote_regions),
        "free_shipping_threshold": str(p.shipping.free_shipping_threshold),
        "no_reason_days": str(p.returns.no_reason_days),
        "refund_window_days": str(p.returns.refund_window_days),
        "exchange_days": str(p.returns.exchange_days),
        "refund_arrival_days": p.returns.refund_arrival_days,
        "return_shipping": p.returns.return_shipping,
        "damaged_remedy": p.returns.damaged_remedy,
        "payment_methods": "、".join(p.payment.methods),
        "cod_answer": "支持货到付款，下单时选“货到付款”就行" if p.payment.cod else "暂时还不支持货到付款",
        "invoice": p.payment.invoice,
        "authenticity": p.after_sales["authenticity"],
        "warranty": p.after_sales["warranty"],
        "open_time": p.business_hours.open,
        "close_time": p.business_hours.close,
        "business_days": _days_text(days),
        "coupon_ceiling": str(p.pricing.coupon_ceiling),
        "bundle": p.pricing.bundles[0] if p.pricing.bundles else "",
        "first_coupon": str(first_coupon.coupon) if first_coupon.coupon else "",
        "wait_minutes": str(p.wait_minutes),
    }


POLICY_SLOTS: Tuple[str, ...] = (
    "shop_name", "dispatch_within_hours", "carriers", "delivery_days", "remote_delivery_days", "remote_regions",
    "free_shipping_threshold", "no_reason_days", "refund_window_days", "exchange_days", "refund_arrival_days",
    "return_shipping", "damaged_remedy", "payment_methods", "cod_answer", "invoice", "authenticity", "warranty",
    "open_time", "close_time", "business_days", "coupon_ceiling", "bundle", "first_coupon", "wait_minutes",
)

_WEEKDAYS = "一二三四五六日"


def _days_text(days: Tuple[int, ...]) -> str:
    ordered = sorted(days)
    if ordered == list(range(1, 8)):
        return "每天"
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"周{_WEEKDAYS[ordered[0] - 1]}至周{_WEEKDAYS[ordered[-1] - 1]}"
    return "、".join(f"周{_WEEKDAYS[d - 1]}" for d in ordered)


# ---- loading --------------------------------------------------------------------------

def _semantic_problems(data: Dict[str, Any], where: Locator) -> List[Problem]:
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
        low, high = _range(data["shipping"]["delivery_days"][name])
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


def _build(data: Dict[str, Any], source: str) -> Policy:
    sh, rt, pay, bh, pr = (data[k] for k in ("shipping", "returns", "payment", "business_hours", "pricing"))
    return Policy(
        source=source,
        shop_name=data["shop"]["name"],
        shipping=Shipping(sh["dispatch_within_hours"], tuple(sh["carriers"]), dict(sh["delivery_days"]),
                          tuple(sh["remote_regions"]), sh["free_shipping_threshold"]),
        returns=Returns(**rt),
        payment=Payment(tuple(pay["methods"]), pay["cod"], pay["invoice"]),
        after_sales=dict(data["after_sales"]),
        business_hours=BusinessHours(bh["timezone"], tuple(bh["days"]), bh["open"], bh["close"]),
        pricing=Pricing(pr["coupon_ceiling"], tuple(Rung(**r) for r in pr["haggling_ladder"]), pr["beyond_floor"],
                        tuple(pr["bundles"])),
        compensation={k: tuple(CompensationStep(**s) for s in v) for k, v in data["compensation"].items()},
        follow_up_hours=dict(data["follow_up_hours"]),
        wait_minutes=data["handoff"]["wait_minutes"],
        channels={k: dict(v) for k, v in data["channels"].items()},
        faq=tuple(FaqEntry(e["id"], tuple(e["intents"]), tuple(e["cues"]), e["answer"]) for e in data["faq"]),
        raw=data,
    )


def _faq_answer_problems(policy: Policy, where: Locator, rules=None) -> List[Problem]:
    """Each FAQ answer, filled from this policy, must pass the etiquette checker (`rules`, default
    etiquette.yml)."""
    from .checker import check  # late: the checker itself reads a policy
    from .placeholders import fill

    problems = []
    values = policy.slots()
    for i, entry in enumerate(policy.faq):
        text = fill(entry.answer, values)
        if text is None:
            problems.append(where.problem(["faq", i, "answer"], "a slot has no value in this policy"))
            continue
        for finding in check(text, policy=policy, rules=rules):
            problems.append(where.problem(["faq", i, "answer"], f"rule {finding.rule}: {finding.why} (in {text!r})"))
    return problems


def policy_path(path: Union[str, Path, None] = None) -> Path:
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def read_policy(path: Union[str, Path, None] = None, rules=None) -> Tuple[Optional[Policy], List[Problem]]:
    """(policy, problems): lint wants every problem; load_policy raises them. `rules`: the etiquette
    rule book the FAQ answers are checked with (default etiquette.yml)."""
    file = policy_path(path)
    data, where, problems = load_yaml(file)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [where.problem([], "the policy file must be a mapping of sections")]
    problems = schema_problems(data, SCHEMA, where)
    if problems:
        return None, problems
    problems = _semantic_problems(data, where)
    if problems:
        return None, problems
    policy = _build(data, str(file))
    problems = _faq_answer_problems(policy, where, rules)
    return (None if problems else policy), problems


def load_policy(path: Union[str, Path, None] = None) -> Policy:
    """The policy at `path`, else $KEFU_POLICY, else assist/policy.yml; DataError lists every problem."""
    file = policy_path(path).resolve()
    try:
        stamp = file.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _load_cached(str(file), stamp)


@lru_cache(maxsize=8)
def _load_cached(file: str, stamp: int) -> Policy:
    policy, problems = read_policy(file)
    if problems or policy is None:
        raise DataError(problems)
    return policy

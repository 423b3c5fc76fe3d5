"""The shop's policy (policy.yml) as frozen dataclasses the drafting code trusts.

Drafts may offer only what is here: coupons up to the ceiling, the haggling ladder,
compensation for days late, follow-up time frames, business hours. `load_policy` reports
every problem in the file at once, each as `file:line: path: message`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from assist.shop.datafile import Locator, load_yaml, schema_problems
from assist.shop.errors import DataError, Problem
from assist.shop.policy_schema import SCHEMA, day_range, semantic_problems

DEFAULT_PATH = Path(__file__).with_name("policy.yml")

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
    invoice_delivery: str  # how the customer receives the invoice (where is my invoice?)


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
    line: int = 0  # where the answer stands in the policy file (for lint)


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
            days.update(day_range(text))
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
        "invoice_delivery": p.payment.invoice_delivery,
        "authenticity": p.after_sales["authenticity"],
        "warranty": p.after_sales["warranty"],
        **{k: p.after_sales.get(k, "") for k in ("photos", "coupons", "delivery_hours")},
        "open_time": p.business_hours.open,
        "close_time": p.business_hours.close,
        "business_days": _days_text(days),
        "coupon_ceiling": str(p.pricing.coupon_ceiling),
        "bundle": p.pricing.bundles[0] if p.pricing.bundles else "",
        "first_coupon": str(first_coupon.coupon) if first_coupon.coupon else "",
        "wait_minutes": str(p.wait_minutes),
    }


_WEEKDAYS = "一二三四五六日"


def _days_text(days: Tuple[int, ...]) -> str:
    ordered = sorted(days)
    if ordered == list(range(1, 8)):
        return "每天"
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"周{_WEEKDAYS[ordered[0] - 1]}至周{_WEEKDAYS[ordered[-1] - 1]}"
    return "、".join(f"周{_WEEKDAYS[d - 1]}" for d in ordered)


# ---- loading --------------------------------------------------------------------------

def _build(data: Dict[str, Any], source: str, where: Optional[Locator] = None) -> Policy:
    sh, rt, pay, bh, pr = (data[k] for k in ("shipping", "returns", "payment", "business_hours", "pricing"))
    return Policy(
        source=source,
        shop_name=data["shop"]["name"],
        shipping=Shipping(sh["dispatch_within_hours"], tuple(sh["carriers"]), dict(sh["delivery_days"]),
                          tuple(sh["remote_regions"]), sh["free_shipping_threshold"]),
        returns=Returns(**rt),
        payment=Payment(tuple(pay["methods"]), pay["cod"], pay["invoice"], pay["invoice_delivery"]),
        after_sales=dict(data["after_sales"]),
        business_hours=BusinessHours(bh["timezone"], tuple(bh["days"]), bh["open"], bh["close"]),
        pricing=Pricing(pr["coupon_ceiling"], tuple(Rung(**r) for r in pr["haggling_ladder"]), pr["beyond_floor"],
                        tuple(pr["bundles"])),
        compensation={k: tuple(CompensationStep(**s) for s in v) for k, v in data["compensation"].items()},
        follow_up_hours=dict(data["follow_up_hours"]),
        wait_minutes=data["handoff"]["wait_minutes"],
        channels={k: dict(v) for k, v in data["channels"].items()},
        faq=tuple(FaqEntry(e["id"], tuple(e["intents"]), tuple(e["cues"]), e["answer"],
                             where.line(["faq", i, "answer"]) if where else 0) for i, e in enumerate(data["faq"])),
        raw=data,
    )


def _faq_slot_problems(policy: Policy, where: Locator) -> List[Problem]:
    """Each FAQ answer must fill from this policy. (Whether it passes the etiquette checker is
    assist/drafting/shop_checks.py's question: loading data never runs the checker.)"""
    from assist.text.placeholders import fill

    values = policy.slots()
    return [where.problem(["faq", i, "answer"], "a slot has no value in this policy")
            for i, entry in enumerate(policy.faq) if fill(entry.answer, values) is None]


def policy_path(path: Union[str, Path, None] = None) -> Path:
    if path is not None:
        return Path(path)
    from assist.settings import get_settings

    return get_settings().policy_path or DEFAULT_PATH


def read_policy(path: Union[str, Path, None] = None) -> Tuple[Optional[Policy], List[Problem]]:
    """(policy, problems): lint wants every problem; load_policy raises them."""
    file = policy_path(path)
    data, where, problems = load_yaml(file)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [where.problem([], "the policy file must be a mapping of sections")]
    problems = schema_problems(data, SCHEMA, where)
    if problems:
        return None, problems
    problems = semantic_problems(data, where)
    if problems:
        return None, problems
    policy = _build(data, str(file), where)
    problems = _faq_slot_problems(policy, where)
    return (None if problems else policy), problems


def load_policy(path: Union[str, Path, None] = None) -> Policy:
    """The policy at `path`, else $KEFU_POLICY, else assist/shop/policy.yml; DataError lists every problem."""
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

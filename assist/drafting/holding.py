"""The short, honest message a customer gets when a person takes over.

It says a person will answer and roughly when: within the policy's wait in business
hours, or when the shop opens (今天/明天/周一 09:00) outside them. Drafted from
replies/holding.yml, checker-clean, one chat message.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Tuple

from assist.drafting.checker import check
from assist.text.placeholders import fill
from assist.shop.policy import Policy, load_policy
from assist.drafting.shop_checks import load_checked_templates
from assist.shop.template_shape import ReplyBook

_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class HoldingMessage:
    text: str
    variant_id: str
    in_hours: bool


def _local(policy: Policy, now: Optional[datetime]) -> datetime:
    tz = policy.business_hours.tz()
    if now is None:
        return datetime.now(tz)
    # A naive time is taken to be the shop's own clock.
    return now.astimezone(tz) if now.tzinfo else now.replace(tzinfo=tz)


def is_open(policy: Policy, now: Optional[datetime] = None) -> bool:
    local = _local(policy, now)
    hours = policy.business_hours
    return local.isoweekday() in hours.days and hours.open <= local.strftime("%H:%M") < hours.close


def next_opening(policy: Policy, now: Optional[datetime] = None) -> Tuple[str, str]:
    """(day in words, opening time) of the next opening after `now`: ('明天', '09:00')."""
    local = _local(policy, now)
    hours = policy.business_hours
    for ahead in range(0, 8):
        day = local + timedelta(days=ahead)
        if day.isoweekday() not in hours.days:
            continue
        if ahead == 0 and local.strftime("%H:%M") >= hours.open:
            continue
        word = {0: "今天", 1: "明天", 2: "后天"}.get(ahead, f"周{_WEEKDAYS[day.isoweekday() - 1]}")
        return word, hours.open
    return "明天", hours.open


def _compose(stage: str, situation, policy: Policy, now: Optional[datetime], book: Optional[ReplyBook]) -> HoldingMessage:
    book = book or load_checked_templates(policy=policy)
    holding = book.holding
    day, opens = next_opening(policy, now)
    cause = situation.causes[0] if getattr(situation, "causes", ()) else ""
    values = {**policy.slots(), "open_day": day, "open_time": opens, "cause": cause}
    upset = getattr(situation, "mood", "calm") in ("angry", "abusive")
    turn = zlib.crc32(getattr(situation, "text", "").encode("utf-8"))
    # An upset customer gets a calming variant when one is written; rotation stays inside
    # each group so the choice varies without falling back to the plain wording.
    groups = [holding.stages.get(stage, {}).get("calming", ()) if upset else (),
              holding.stages.get(stage, {}).get("any", ())]
    ordered = [g[(turn + i) % len(g)] for g in groups for i in range(len(g))]
    for variant in ordered:
        text = fill(variant.text, values)
        if text and not check(text, policy=policy):
            return HoldingMessage(text, variant.id, stage != "after_hours")
    # Templates are linted, so this is only reached with a broken custom set.
    raise LookupError(f"no usable holding variant for stage {stage!r} in {holding.file}")


def compose_holding(situation, policy: Optional[Policy] = None, now: Optional[datetime] = None,
                    templates: Optional[ReplyBook] = None) -> HoldingMessage:
    policy = policy or load_policy()
    stage = "in_hours" if is_open(policy, now) else "after_hours"
    return _compose(stage, situation, policy, now, templates)


def holding_message(situation, policy: Optional[Policy] = None, now: Optional[datetime] = None) -> str:
    return compose_holding(situation, policy, now).text


def wait_update_message(situation, policy: Optional[Policy] = None, now: Optional[datetime] = None) -> str:
    """'Still waiting' update while the customer waits; outside hours, when the shop opens."""
    policy = policy or load_policy()
    stage = "still_waiting" if is_open(policy, now) else "after_hours"
    return _compose(stage, situation, policy, now, None).text


def handed_back_message(situation, policy: Optional[Policy] = None, now: Optional[datetime] = None) -> str:
    """Nobody took the case in time: said honestly, and the bot answers again."""
    return _compose("handed_back", situation, policy or load_policy(), now, None).text

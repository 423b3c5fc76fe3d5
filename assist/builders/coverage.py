"""Every reply template composed over a grid of situations: the drafts evaluation of
`make evaluate` (and bench/learning.py's coverage table).

The grid crosses every concern with a reply set × the four temperaments × two moods that
go with each × what we know of the order (nothing / the order number / the full order /
the product) × the flags templates can ask for (repeat, threat, beyond policy, product
fault, VIP with an honorific) × two channels (with and without emoji). For each situation
the composer drafts; the report counts etiquette findings (must be 0), drafts per
situation (2–3), the length distribution, which variants the grid never reaches, and which
concern × temperament combinations have no variant written for their tone.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from assist.drafting.checker import check
from assist.drafting.composer import compose
from assist.shop.intents import PERSON_CONCERNS
from assist.shop.policy import Policy, load_policy
from assist.drafting.situation import TONE_BY_TEMPERAMENT, Situation
from assist.shop.template_shape import GENERAL, HOLDING, ReplyBook
from assist.shop.templates import load_templates

TEMPERAMENTS = ("reasoning", "persistent", "agitated", "unreasonable")
MOODS = {"reasoning": ("calm", "anxious"), "persistent": ("anxious", "calm"),
         "agitated": ("angry", "abusive"), "unreasonable": ("calm", "angry")}
FACTS = {
    "nothing": {},
    "order no.": {"order_id": "4392018876512093"},
    "full order": {"order_id": "4392018876512093", "carrier": "中通快递", "days_late": 5, "last_location": "杭州转运中心",
                   "tracking_no": "ZT7730012345678", "status": "in_transit", "product": "珊瑚绒四件套"},
    "product": {"product": "保温杯"},
}
FLAGS = ("none", "repeat", "threat", "beyond_policy", "product_fault", "vip")
CHANNELS = (None, "socketio")
NEEDS = {"delivery_delay": ("order_id",), "complaint": ("order_id",), "refund_return": ("order_id",),
         "order_status": ("order_id",), "product_inquiry": ("product",), "price_haggle": ("product",)}


def situation_for(concern: str, temperament: str, mood: str, facts_name: str, flag: str) -> Situation:
    facts = dict(FACTS[facts_name])
    signals: Tuple[str, ...] = ()
    kwargs = {}
    if flag == "repeat":
        kwargs["repeats"] = 1
    if flag == "threat":
        kwargs["threats"] = ("review",)
    if flag == "beyond_policy":
        signals = ("demand:赔三倍",)
        kwargs["demand_yuan"] = 500.0
    if flag == "product_fault":
        kwargs.update(problems=("damaged",), causes=("收到的东西有破损",))
    if flag == "vip":
        kwargs.update(vip=True, address="王女士")
    return Situation(
        text=f"[grid] {concern} {temperament} {mood} {facts_name} {flag}", intent=concern, intent_source="given",
        concerns=(concern,), problems=kwargs.pop("problems", ()), causes=kwargs.pop("causes", ()), mood=mood,
        mood_trend="steady", mood_history=(mood,), threats=kwargs.pop("threats", ()), temperament=temperament,
        temperament_signals=signals, urgency=50, urgency_reasons=(), facts=facts,
        missing=tuple(f for f in NEEDS.get(concern, ()) if f not in facts), **kwargs,
    )


@dataclass
class GridReport:
    situations: int = 0
    drafts: int = 0
    findings: Counter = field(default_factory=Counter)          # rule → count
    finding_examples: List[Tuple[str, str, str]] = field(default_factory=list)  # (situation, rule, draft)
    too_few: List[str] = field(default_factory=list)            # situations with < 2 drafts
    lengths: List[int] = field(default_factory=list)
    lengths_by_concern: Dict[str, List[int]] = field(default_factory=dict)
    used: Counter = field(default_factory=Counter)              # variant id → drafts using it
    unused: List[str] = field(default_factory=list)
    variants: int = 0
    tone_gaps: Dict[Tuple[str, str], List[str]] = field(default_factory=dict)  # (concern, temperament) → stages
    no_set: List[str] = field(default_factory=list)             # concerns answered by the general set

    def length_summary(self, lengths: Optional[Sequence[int]] = None) -> Dict[str, float]:
        values = sorted(lengths if lengths is not None else self.lengths)
        if not values:
            return {"min": 0, "p50": 0, "p95": 0, "max": 0, "mean": 0}
        return {"min": values[0], "p50": statistics.median(values), "p95": values[min(len(values) - 1, round(0.95 * (len(values) - 1)))],
                "max": values[-1], "mean": statistics.mean(values)}


def tone_gaps(book: ReplyBook) -> Tuple[Dict[Tuple[str, str], List[str]], List[str]]:
    """For each concern that goes to a person × temperament: the stages with no variant written
    for that temperament's tone (the drafts fall back to tone-neutral 'any' variants there)."""
    gaps: Dict[Tuple[str, str], List[str]] = {}
    missing_sets = [c for c in PERSON_CONCERNS if c not in book.sets]
    for concern in PERSON_CONCERNS:
        rs = book.for_concern(concern)
        for temperament in TEMPERAMENTS:
            tone = TONE_BY_TEMPERAMENT[temperament]
            stages = [stage for stage in rs.shape if not rs.stages.get(stage, {}).get(tone)]
            if stages:
                gaps[(concern, temperament)] = stages
    return gaps, missing_sets


def run_grid(policy: Optional[Policy] = None, book: Optional[ReplyBook] = None, concerns: Optional[Iterable[str]] = None,
             flags: Sequence[str] = FLAGS, facts: Sequence[str] = tuple(FACTS), channels: Sequence[Optional[str]] = CHANNELS,
             progress=None) -> GridReport:
    policy = policy or load_policy()
    book = book or load_templates(policy=policy)
    concerns = list(concerns or [c for c in book.sets if c not in (GENERAL, HOLDING)])
    report = GridReport()
    report.variants = sum(1 for v in book.variants() if v.concern != HOLDING)
    for concern in concerns:
        for temperament in TEMPERAMENTS:
            for mood in MOODS[temperament]:
                for facts_name in facts:
                    for flag in flags:
                        base = situation_for(concern, temperament, mood, facts_name, flag)
                        for channel in channels:
                            situation = replace(base, text=f"{base.text} {channel or 'plain'}")
                            drafts = compose(situation, policy=policy, templates=book, channel=channel)
                            report.situations += 1
                            report.drafts += len(drafts)
                            if len(drafts) < 2:
                                report.too_few.append(situation.text)
                            for d in drafts:
                                report.lengths.append(len(d.text))
                                report.lengths_by_concern.setdefault(concern, []).append(len(d.text))
                                report.used.update(d.pieces)
                                for f in check(d.text, policy=policy, concern=situation.topic, channel=channel):
                                    report.findings[f.rule] += 1
                                    if len(report.finding_examples) < 20:
                                        report.finding_examples.append((situation.text, f.rule, d.text))
        if progress:
            progress(concern)
    report.unused = sorted(v.id for v in book.variants()
                           if v.concern in concerns and v.id not in report.used)
    report.tone_gaps, report.no_set = tone_gaps(book)
    return report


def markdown(report: GridReport) -> str:
    s = report.length_summary()
    out = [
        f"{report.situations} situations × the composer → {report.drafts} drafts "
        f"({report.drafts / max(1, report.situations):.2f} per situation); {report.variants} template variants.\n",
        "| check | result | goal |", "|---|---:|---:|",
        f"| etiquette findings in drafts | **{sum(report.findings.values())}** | 0 |",
        f"| situations with fewer than 2 drafts | {len(report.too_few)} | 0 |",
        f"| draft length min / median / p95 / max (characters) | {s['min']} / {s['p50']:.0f} / {s['p95']} / {s['max']} | max ≤ 150 |",
        f"| variants the grid never uses | {len(report.unused)} | — |",
    ]
    if report.findings:
        out += ["", "Findings: " + ", ".join(f"{rule} ×{n}" for rule, n in report.findings.most_common())]
        out += [f"- {sit}: {rule}: {text}" for sit, rule, text in report.finding_examples[:10]]
    out += ["", "Length by concern (characters):", "", "| concern | drafts | median | p95 | max |", "|---|---:|---:|---:|---:|"]
    for concern, lengths in sorted(report.lengths_by_concern.items()):
        c = report.length_summary(lengths)
        out.append(f"| {concern} | {len(lengths)} | {c['p50']:.0f} | {c['p95']} | {c['max']} |")
    out += ["", "Coverage — concern × temperament: stages with no variant written for that tone (drafts use the "
                "tone-neutral `any` variants there):", "",
            "| concern | " + " | ".join(TEMPERAMENTS) + " |", "|---|" + "---|" * len(TEMPERAMENTS)]
    for concern in PERSON_CONCERNS:
        cells = []
        for t in TEMPERAMENTS:
            gaps = report.tone_gaps.get((concern, t))
            cells.append(", ".join(gaps) if gaps else "✓ every stage")
        out.append(f"| {concern} | " + " | ".join(cells) + " |")
    if report.no_set:
        out.append(f"\nNo reply set of their own (answered by `general`): {', '.join(report.no_set)}")
    if report.unused:
        out += ["", "Variants no grid situation reaches: " + ", ".join(f"`{v}`" for v in report.unused)]
    return "\n".join(out) + "\n"


__all__ = ["run_grid", "markdown", "situation_for", "tone_gaps"]

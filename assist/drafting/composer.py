"""Situation × templates × policy → 2–3 ranked drafts an agent can send with one key.

Each draft is one of a few plans — resolve with the facts we have, ask for the fact we
lack, say the same another way, or say it short — built stage by stage (acknowledge,
apologize, resolve, follow up, consult) from variants that fit the customer's tone and
whose slots all have values. Every draft is checked before it leaves; one that breaks
a rule is dropped, never sent. Choices rotate on a stable hash of the message plus
`seed`, so the same input always gives the same drafts.

Given agents' acceptance records (`acceptance`, see learning.py), the first draft takes
the variants agents accepted most for this concern and temperament, the alternative the
most promising (new variants get their turn there), and the drafts are ordered by their
rule-based score moved by their learned score. Without records nothing changes.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from assist.drafting.checker import check
from assist.drafting.drafts import MAX_DRAFTS, MIN_DRAFTS, Draft
from assist.drafting.reasons import FACT_SLOTS, reason_for, uses
from assist.drafting.render import also_set, render
from assist.shop.cues import Cues, load_cues
from assist.text.placeholders import fill
from assist.shop.policy import Policy, load_policy
from assist.shop.rules import load_rules
from assist.drafting.situation import Situation
from assist.drafting.slot_values import derived_values, fact_values, flags
from assist.drafting.turn import Turn, finish, is_turn_set, turn_set
from assist.shop.slots import ASKABLE
from assist.drafting.shop_checks import load_checked_templates
from assist.shop.template_shape import ReplyBook, ReplySet, Variant

if TYPE_CHECKING:
    from assist.drafting.acceptance import Acceptance



@dataclass(frozen=True)
class _Context:
    situation: Situation
    policy: Policy
    reply_set: ReplySet
    values: Mapping[str, str]
    flags: FrozenSet[str]
    stages: Tuple[str, ...]
    base: int
    max_chars: int
    acceptance: Optional["Acceptance"] = None
    refused: FrozenSet[str] = frozenset()   # resolve variants agents rejected in this case


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _eligible(ctx: _Context, v: Variant) -> bool:
    if not set(v.when) <= ctx.flags:
        return False
    if v.asks is not None and v.asks not in ctx.situation.missing:
        return False
    return fill(v.text, ctx.values) is not None


def _ranked(ctx: _Context, stage: str) -> List[Variant]:
    """Eligible variants, most fitting first: those written for this flag, then this tone."""
    tone = ctx.situation.tone
    options = [v for v in ctx.reply_set.options(stage, tone) if _eligible(ctx, v)]
    return sorted(options, key=lambda v: (-len(v.when), v.tone != tone))


def _pick(options: Sequence[Variant], turn: int) -> Optional[Variant]:
    return options[turn % len(options)] if options else None


def _learned_pick(ctx: _Context, options: Sequence[Variant], turn: int, explore: bool, retry: int = 0) -> Optional[Variant]:
    """The option with the best acceptance score (the next best on each retry); ties, and no
    records at all, keep the rotation."""
    if not options:
        return None
    start = turn % len(options)
    rotated = list(options[start:]) + list(options[:start])
    acc, s = ctx.acceptance, ctx.situation
    score = acc.optimistic if explore else acc.mean
    ranked = sorted(rotated, key=lambda v: -score(v.id, s.topic, s.temperament))  # stable: equals keep rotation order
    return ranked[retry % len(ranked)]


def _best_group(options: Sequence[Variant], tone: str) -> List[Variant]:
    if not options:
        return []
    top = (len(options[0].when), options[0].tone != tone)
    return [v for v in options if (len(v.when), v.tone != tone) == top]


def _richness(v: Variant) -> Tuple[int, int, int]:
    """Resolving "with the facts": a variant written for this case (its `when` holds), then
    one that gives what policy owes (compensation), then one that uses more order facts."""
    return (len(v.when), int("compensation" in v.slots), len(set(v.slots) & FACT_SLOTS))


def _resolve_options(ctx: _Context, kind: str) -> List[Variant]:
    ranked = [v for v in _ranked(ctx, "resolve") if v.id not in ctx.refused]
    if kind == "ask":
        return [v for v in ranked if v.asks]
    plain = [v for v in ranked if not v.asks]
    if kind in ("resolve", "alternative"):
        tone = ctx.situation.tone
        return sorted(plain, key=lambda v: tuple(-x for x in _richness(v)) + (v.tone != tone,))
    return ranked


def _best_group_by_facts(options: Sequence[Variant], tone: str) -> List[Variant]:
    if not options:
        return []
    key = lambda v: (_richness(v), v.tone == tone)  # noqa: E731
    top = key(options[0])
    return [v for v in options if key(v) == top]


def _plan(ctx: _Context, kind: str, turn: int, avoid: Optional[str] = None, retry: int = 0) -> Optional[List[Variant]]:
    tone = ctx.situation.tone
    chosen: List[Variant] = []
    for i, stage in enumerate(ctx.stages):
        if stage == "resolve":
            options = _resolve_options(ctx, kind)
            if kind == "resolve":
                options = _best_group_by_facts(options, tone) or options
            if avoid and len(options) > 1:
                options = [v for v in options if v.id != avoid] or options
        else:
            options = _ranked(ctx, stage)
            if kind in ("resolve", "ask"):
                options = _best_group(options, tone)
            elif kind == "alternative" and is_turn_set(ctx.reply_set):
                # Another wording, not a blander one: inside a case, keep to lines written for this
                # tone or this moment (a calming 包裹迟迟没到… over a bare 好的，我明白了) when there are two.
                fitting = [v for v in options if v.when or v.tone == tone]
                options = fitting if len(fitting) >= 2 else options
        if kind == "short":
            pick = min(options, key=lambda v: (len(fill(v.text, ctx.values) or ""), v.id), default=None)
        elif ctx.acceptance is not None:
            pick = _learned_pick(ctx, options, ctx.base + turn + i, explore=kind == "alternative", retry=retry)
        else:
            pick = _pick(options, ctx.base + turn + i)
        if pick is None:
            return None
        chosen.append(pick)
    return chosen


def _fit(ctx: _Context, pieces: List[Variant], also: Optional[ReplySet], emoji: Optional[str]) -> Optional[Tuple[str, List[Variant]]]:
    """Render; if too long, drop the extras, then swap in the shortest variant stage by stage."""
    for extra_also, extra_emoji in ((also, emoji), (None, emoji), (None, None)):
        text = render(pieces, ctx.values, ctx.situation.address, extra_also, extra_emoji)
        if len(text) <= ctx.max_chars:
            return text, pieces
    pieces = list(pieces)
    for i, piece in enumerate(pieces):
        if piece.stage == "resolve":
            continue  # the resolve variant is what this draft is about
        options = _ranked(ctx, piece.stage)
        pieces[i] = min(options, key=lambda v: len(fill(v.text, ctx.values) or ""), default=piece)
        text = render(pieces, ctx.values, ctx.situation.address, None, None)
        if len(text) <= ctx.max_chars:
            return text, pieces
    return None


_BASE_SCORE = {"resolve": 0.85, "ask": 0.85, "alternative": 0.75, "short": 0.7}


def _score(ctx: _Context, kind: str, text: str, pieces: Sequence[Variant]) -> float:
    score = _BASE_SCORE[kind]
    resolve = next((v for v in pieces if v.stage == "resolve"), None)
    if ctx.situation.missing and kind == "resolve" and resolve is not None and not resolve.when:
        score -= 0.1  # without the order we can only promise to look; asking is the better move
    tone = ctx.situation.tone
    if sum(1 for v in pieces if v.tone == tone) >= 2:
        score += 0.05
    if any(v.when for v in pieces):
        score += 0.05
    offers = uses(pieces, "compensation") or uses(pieces, "coupon") or uses(pieces, "floor_coupon")
    if offers and (ctx.situation.mood != "calm" or ctx.situation.topic == "price_haggle"):
        score += 0.05
    if len(text) > 120:
        score -= 0.05
    return round(max(0.0, min(1.0, score)), 2)


def _learned_score(ctx: _Context, kind: str, score: float, pieces: Sequence[Variant]) -> float:
    """The rule-based score moved by how agents received drafts made of these pieces."""
    from assist.drafting.acceptance import PLAN

    acc, s = ctx.acceptance, ctx.situation
    return score + acc.prior.weight * acc.lift([v.id for v in pieces] + [PLAN + kind], s.topic, s.temperament)


def _context(situation: Situation, policy: Policy, book: ReplyBook, seed: int, cues: Cues,
             acceptance: Optional["Acceptance"] = None, turn: Optional[Turn] = None) -> _Context:
    topic = situation.topic
    reply_set = turn_set(book, turn) or book.for_concern(topic)
    on = flags(situation, policy)
    if turn is not None and is_turn_set(reply_set):
        # "您问了好几次了" only when the customer really pushed again and again (the turn says so),
        # not because earlier messages were about the same concern.
        on = on - {"repeat"}
    on = on | (turn.flags if turn is not None else frozenset())
    values = {**policy.slots(), **fact_values(situation.facts),
              **derived_values(situation, policy, cues.default_causes.get(topic, "这件事")),
              **(turn.values if turn is not None else {})}
    # Optional stages (an apology to a calm customer asking how to return) only when due.
    due = situation.mood != "calm" or bool(on & {"product_fault", "repeat", "threat"})
    stages = tuple(s for s in reply_set.shape if s not in reply_set.optional or due)
    return _Context(situation, policy, reply_set, values, on, stages,
                    base=seed + _stable_hash(situation.text), max_chars=load_rules().max_chars,
                    acceptance=acceptance, refused=frozenset(turn.refused) if turn is not None else frozenset())


def compose(
    situation: Situation,
    policy: Optional[Policy] = None,
    templates: Optional[ReplyBook] = None,
    seed: int = 0,
    channel: Optional[str] = None,
    cues: Optional[Cues] = None,
    acceptance: Optional["Acceptance"] = None,
    turn: Optional[Turn] = None,
) -> List[Draft]:
    """2–3 distinct, checker-clean drafts, best first. `acceptance`: agents' records
    (learning.Acceptance); None keeps the rule-based ranking. `turn`: where the conversation is
    (assist/drafting/turn.py) — a later message of a case is answered by its dialogue act."""
    policy = policy or load_policy()
    book = templates or load_checked_templates(policy=policy)
    conversation_turn = turn  # (`turn` below counts the drafting attempts)
    ctx = _context(situation, policy, book, seed, cues or load_cues(), acceptance, conversation_turn)
    # A turn reply is one message in a running conversation: the concern's required stages
    # (acknowledge, apologize …) belong to the case's first reply, not to every later one.
    concern = None if is_turn_set(ctx.reply_set) else ctx.reply_set.concern
    also = None if concern is None else also_set(ctx.situation, book)
    emoji = policy.emoji_for(channel) if situation.mood in ("calm", "anxious") and situation.topic not in (
        "complaint", "delivery_delay") else None

    askable = [f for f in situation.missing if f in ASKABLE]
    can_ask = bool(askable) and any(v.asks for v in ctx.reply_set.options("resolve", situation.tone) if _eligible(ctx, v))
    kinds = ["ask", "resolve", "short"] if can_ask else ["resolve", "alternative", "short"]

    drafts: List[Draft] = []
    rank_by: List[float] = []   # unrounded, unclipped: what orders the drafts
    seen = set()
    first_resolve: Optional[str] = None

    def attempt(kind: str, turn: int, retry: int = 0) -> None:
        nonlocal first_resolve
        pieces = _plan(ctx, kind, turn, avoid=first_resolve if kind == "alternative" else None, retry=retry)
        if not pieces:
            return
        # The short draft leaves out ride-along lines, except one that says who is
        # speaking ("我是人工客服"): the customer asked for a person and must know.
        keep_also = also if (kind != "short" or (also is not None and also.also_first)) else None
        fitted = _fit(ctx, pieces, keep_also, emoji)
        if fitted is None:
            return
        text, pieces = fitted
        if text in seen or check(text, policy=policy, concern=concern, channel=channel):
            return
        seen.add(text)
        resolve = next((v for v in pieces if v.stage == "resolve"), pieces[0])
        if kind == "resolve" and first_resolve is None:
            first_resolve = resolve.id
        score = _score(ctx, kind, text, pieces)
        if acceptance is not None:
            score = _learned_score(ctx, kind, score, pieces)
        rank_by.append(score)
        drafts.append(Draft(text, round(max(0.0, min(1.0, score)), 2), reason_for(ctx.situation, ctx.values, ctx.policy, kind, pieces), resolve.id,
                            tuple(v.id for v in pieces), kind))

    for turn, kind in enumerate(kinds):
        attempt(kind, turn)
    # Too few distinct drafts (few variants, a plan dropped by the checker): keep turning.
    for turn in range(len(kinds), len(kinds) + 12):
        if len(drafts) >= MIN_DRAFTS:
            break
        attempt("alternative", turn, retry=turn - len(kinds) + 1)
    order = sorted(range(len(drafts)), key=lambda i: (-rank_by[i], i))
    ranked = [drafts[i] for i in order]
    if conversation_turn is not None:
        return finish(ranked, conversation_turn, lambda act: compose(
            situation, policy, book, seed, channel, cues, acceptance, Turn(act=act, values=conversation_turn.values, flags=conversation_turn.flags,
                                                      refused=conversation_turn.refused)))
    return ranked[:MAX_DRAFTS]

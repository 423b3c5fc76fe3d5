"""`python -m assist mine`: proposals for bot builders, mined from agents' decisions.

(a) Reply variants from agents' frequent edits. Each edited draft is lined up with the
    template pieces it was made of; where agents rewrote a piece, or added words at its end,
    the piece as they sent it becomes a candidate variant (order numbers, time frames and
    the piece's own slot values turned back into {slots}). A candidate made the same way at
    least `min_support` times, and clean under every template check (etiquette rules, length,
    the stage's required words), is proposed; one that fails is listed with why.
(b) NLU examples from customer messages the bot was unsure about (confidence below a
    threshold) or whose concern an agent corrected in the console, labelled with the
    agent's correction or the NLU's guess for review. Nothing already in the training data
    or in a held-out evaluation set is proposed.

Customer and agent text is masked (assist/text/masking.py) before it is written. Proposals are
YAML files for review (assist/builders/review_files.py); `--apply FILE` merges only the entries
a person marked `approve: true`, and never runs on its own. How an edit is lined up with the
pieces of its draft is assist/builders/edits.py.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from assist.builders.edits import piece_rewrites, piece_spans, unfill
from assist.builders.review_files import nlu_yaml, templates_yaml
from assist.builders.trainingdata import HeldOut, compact
from assist.text.masking import MASKS, mask
from assist.text.placeholders import slots_in

MIN_SUPPORT = 3
UNSURE_BELOW = 0.6


# ---- (a) reply variants --------------------------------------------------------------------

@dataclass
class VariantProposal:
    concern: str
    stage: str
    tone: str
    text: str
    based_on: str
    support: int = 0
    shown: int = 0                  # decisions in which the base piece was in the chosen draft
    examples: List[Tuple[str, str]] = field(default_factory=list)   # (draft, sent), masked
    problems: List[str] = field(default_factory=list)
    file: str = ""

    @property
    def clean(self) -> bool:
        return not self.problems


def _check_variant(text: str, base, policy) -> List[str]:
    """The template checks a bot builder's own variant gets (its shape, then the etiquette rules)."""
    from assist.drafting.shop_checks import variant_problems
    from assist.shop.datafile import Locator
    from assist.shop.template_shape import Variant, sample_values, variant_problems as shape_problems

    candidate = Variant(id=f"{base.concern}.{base.stage}.{base.tone}.new", concern=base.concern, stage=base.stage,
                        tone=base.tone, text=text, slots=slots_in(text), asks=base.asks if base.asks not in slots_in(text) else None,
                        when=base.when, file=base.file, line=0)
    sample = sample_values(policy)
    problems = shape_problems(candidate, Locator(base.file, None), [], sample) or variant_problems(candidate, policy, sample)
    return [p.message for p in problems]


def variant_proposals(records: Iterable[Mapping[str, Any]], book, policy, min_support: int = MIN_SUPPORT) -> List[VariantProposal]:
    """Candidate variants from edits, most supported first (clean ones before failing ones)."""
    by_id = {v.id: v for v in book.variants()}
    texts = {vid: v.text for vid, v in by_id.items()}
    existing = {(v.concern, v.stage, v.text) for v in by_id.values()}
    found: Dict[Tuple[str, str, str, str], VariantProposal] = {}
    in_chosen: Counter = Counter()
    for record in records:
        decision = record.get("decision") or {}
        chosen = next((d for d in record.get("drafts") or [] if d.get("rank") == decision.get("rank")), None)
        if chosen is None:
            continue
        for pid in chosen.get("pieces") or ():
            in_chosen[pid] += 1
        if decision.get("action") != "edit" or not decision.get("final_text"):
            continue
        spans = piece_spans(chosen["text"], chosen.get("pieces") or (), texts)
        if not spans:
            continue
        topic = record.get("topic") or ""
        for rw in piece_rewrites(chosen["text"], decision["final_text"], spans):
            base = by_id.get(rw.variant_id)
            if base is None or not rw.clean_cut or not rw.new.strip():
                continue
            text = unfill(rw.new.strip(), rw.values, policy.follow_up_text(topic or base.concern), policy.slots())
            if any(m in text for m in MASKS) or (base.concern, base.stage, text) in existing:
                continue
            key = (base.concern, base.stage, base.tone, text)
            proposal = found.get(key)
            if proposal is None:
                proposal = found[key] = VariantProposal(base.concern, base.stage, base.tone, text, base.id, file=base.file)
            proposal.support += 1
            if len(proposal.examples) < 2:
                proposal.examples.append((mask(chosen["text"]), mask(decision["final_text"])))
    out = []
    for proposal in found.values():
        if proposal.support < min_support:
            continue
        proposal.shown = in_chosen[proposal.based_on]
        proposal.problems = _check_variant(proposal.text, by_id[proposal.based_on], policy)
        out.append(proposal)
    return sorted(out, key=lambda p: (not p.clean, -p.support, p.concern, p.stage, p.text))


# ---- (b) NLU examples ------------------------------------------------------------------------

@dataclass
class ExampleProposal:
    intent: str
    text: str               # masked
    why: str
    seen: int = 1
    source: str = "unsure"  # corrected | unsure


def nlu_proposals(records: Iterable[Mapping[str, Any]], corrections: Iterable[Mapping[str, Any]],
                  training: Iterable[Any], held_out: Optional[HeldOut] = None,
                  unsure_below: float = UNSURE_BELOW) -> Tuple[List[ExampleProposal], Dict[str, int]]:
    """Proposals, and how many candidates each filter dropped."""
    in_training = {compact(ex.text): ex.intent for ex in training}
    dropped: Counter = Counter()
    found: Dict[str, ExampleProposal] = {}

    def offer(text: Optional[str], intent: Optional[str], why: str, source: str) -> None:
        if not text or not intent or intent in ("nlu_fallback", "-"):
            return
        masked = mask(text.strip())
        key = compact(masked)
        if not 2 <= len(key) <= 200:
            dropped["too short or too long"] += 1
            return
        if held_out is not None and held_out.find(text) is not None:
            dropped["in a held-out evaluation set"] += 1
            return
        if in_training.get(key) == intent:
            dropped["already in the training data"] += 1
            return
        if key in in_training:
            why += f"; NOTE: the training data has it as {in_training[key]}"
        if key in found:
            found[key].seen += 1
            if source == "corrected" and found[key].source != "corrected":
                found[key] = ExampleProposal(intent, masked, why, found[key].seen, source)
            return
        found[key] = ExampleProposal(intent, masked, why, 1, source)

    for c in corrections:
        detected = c.get("detected_intent") or "?"
        offer(c.get("customer_text"), c.get("corrected"), f"agent {c.get('agent', '?')} corrected {detected} → {c.get('corrected')}", "corrected")
    for r in records:
        confidence = r.get("confidence")
        if confidence is None or confidence >= unsure_below:
            continue
        offer(r.get("customer_text"), r.get("intent"), f"NLU unsure: {r.get('intent')} at {confidence:.2f}", "unsure")
    ordered = sorted(found.values(), key=lambda p: (p.source != "corrected", -p.seen, p.intent, p.text))
    return ordered, dict(dropped)


@dataclass
class MineResult:
    variants: List[VariantProposal]
    examples: List[ExampleProposal]
    dropped: Dict[str, int]
    files: List[Path]
    decisions: int


def mine(store, out_dir: Path, data_dir: Path, book=None, policy=None, held_out: Optional[HeldOut] = None,
         min_support: int = MIN_SUPPORT, unsure_below: float = UNSURE_BELOW, since=None) -> MineResult:
    from assist.shop.policy import load_policy
    from assist.shop.templates import load_templates
    from assist.builders.trainingdata import read_examples

    policy = policy or load_policy()
    book = book or load_templates(policy=policy)
    decided = store.learning.learning_records(since=since)
    everything = store.learning.learning_records(since=since, decided_only=False)
    corrections = store.learning.corrections()
    training, _, _ = read_examples(data_dir / "nlu" if (data_dir / "nlu").is_dir() else data_dir)
    variants = variant_proposals(decided, book, policy, min_support)
    examples, dropped = nlu_proposals(everything, corrections, training, held_out, unsure_below)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    files = [out_dir / "templates.yml", out_dir / "nlu.yml"]
    files[0].write_text(templates_yaml(variants, stamp), encoding="utf-8")
    files[1].write_text(nlu_yaml(examples, stamp, dropped), encoding="utf-8")
    return MineResult(variants, examples, dropped, files, len(decided))



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

Customer and agent text is masked (assist/masking.py) before it is written. Proposals are
YAML files for review; `--apply FILE` merges only the entries a person marked
`approve: true`, and never runs on its own.
"""
from __future__ import annotations

import difflib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from assist.builders.trainingdata import HeldOut, compact
from assist.drafting.acceptance import _pattern
from assist.text.masking import MASKS, mask
from assist.text.placeholders import slots_in

MIN_SUPPORT = 3
UNSURE_BELOW = 0.6
# An order number, not a mobile number (those are masked as phones).
_ORDER_NO = re.compile(r"(?<![0-9A-Za-z])(?!1[3-9]\d{9}(?!\d))\d{10,24}(?![0-9])")
_CLAUSE_END = "。！？?!~～"


# ---- lining a draft up with its pieces -----------------------------------------------------

@dataclass(frozen=True)
class PieceSpan:
    variant_id: str
    start: int
    end: int
    values: Mapping[str, str]


def piece_spans(text: str, pieces: Sequence[str], texts: Mapping[str, str]) -> Optional[List[PieceSpan]]:
    """Where each template piece sits in the draft, with the slot values it was filled with."""
    spans, cursor = [], 0
    for pid in pieces:
        template = texts.get(pid)
        if template is None:
            return None
        m = _pattern(template).search(text, cursor)
        if m is None:
            return None
        spans.append(PieceSpan(pid, m.start(), m.end(), {k: v for k, v in m.groupdict().items() if v}))
        cursor = m.end()
    return spans


def _position_maps(a: str, b: str) -> Tuple[List[int], List[int], set]:
    """For each position of `a`, its position in `b` before and after words inserted there;
    and the positions of `a` that fall inside a rewritten stretch."""
    before, after, inside = [0] * (len(a) + 1), [0] * (len(a) + 1), set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            for t in range(i1, i2 + 1):
                before[t] = after[t] = j1 + (t - i1)
        elif tag == "insert":
            before[i1], after[i1] = j1, j2
        else:  # replace, delete
            before[i1] = after[i1] = j1
            for t in range(i1 + 1, i2):
                before[t] = after[t] = j1 + round((t - i1) * (j2 - j1) / (i2 - i1))
                inside.add(t)
            before[i2] = after[i2] = j2
    return before, after, inside


@dataclass(frozen=True)
class Rewrite:
    variant_id: str
    old: str          # the piece as drafted
    new: str          # the piece as sent ("" when the agent dropped it)
    values: Mapping[str, str]
    clean_cut: bool   # the edit stays inside this piece


def piece_rewrites(draft: str, final: str, spans: Sequence[PieceSpan]) -> List[Rewrite]:
    """Each piece the agent changed; words added at a piece's end belong to that piece,
    words added before the first piece to the first."""
    before, after, inside = _position_maps(draft, final)
    out = []
    for k, span in enumerate(spans):
        start = before[span.start] if k == 0 else after[span.start]
        end = after[span.end]
        new, old = final[start:end], draft[span.start:span.end]
        if new != old:
            out.append(Rewrite(span.variant_id, old, new, span.values,
                               span.start not in inside and span.end not in inside))
    return out


def unfill(text: str, values: Mapping[str, str], follow_up: Optional[str] = None,
           policy_values: Optional[Mapping[str, str]] = None) -> str:
    """Facts back into {slots}: a piece's own values, the concern's follow-up time frame,
    order numbers, the shop's policy values. Longer values first."""
    pairs = [(v, k) for k, v in values.items() if v and (len(v) >= 2 or v.isdigit())]
    if follow_up:
        pairs.append((follow_up, "follow_up"))
    for k, v in (policy_values or {}).items():
        if isinstance(v, str) and len(v) >= 3 and not v.isdigit():
            pairs.append((v, k))
    out = text
    for value, slot in sorted(pairs, key=lambda p: -len(p[0])):
        if value.isdigit():
            out = re.sub(rf"(?<!\d){re.escape(value)}(?!\d)", "{" + slot + "}", out)
        else:
            out = out.replace(value, "{" + slot + "}")
    return _ORDER_NO.sub("{order_id}", out)


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
    from assist.shop.templates import Variant, _variant_problems, sample_values

    candidate = Variant(id=f"{base.concern}.{base.stage}.{base.tone}.new", concern=base.concern, stage=base.stage,
                        tone=base.tone, text=text, slots=slots_in(text), asks=base.asks if base.asks not in slots_in(text) else None,
                        when=base.when, file=base.file, line=0)
    sample = sample_values(policy)
    problems = _variant_problems(candidate, Locator(base.file, None), [], sample) or variant_problems(candidate, policy, sample)
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


# ---- what agents change most (for the report) ------------------------------------------------

def _clauses(text: str) -> List[str]:
    parts = re.split(rf"(?<=[{_CLAUSE_END}，,])", text)
    return [p for p in (x.strip() for x in parts) if p]


def frequent_edits(records: Iterable[Mapping[str, Any]], policy=None, top: int = 15) -> Dict[str, List[Tuple[str, str, int]]]:
    """{"added": [(concern, clause, n)], "removed": [...]}: clauses agents add to or cut from
    drafts, counted over edits, masked and with facts turned back into {slots}."""
    added: Counter = Counter()
    removed: Counter = Counter()
    for record in records:
        decision = record.get("decision") or {}
        if decision.get("action") != "edit" or decision.get("rank") is None:
            continue
        chosen = next((d for d in record.get("drafts") or [] if d.get("rank") == decision["rank"]), None)
        if chosen is None or not decision.get("final_text"):
            continue
        topic = record.get("topic") or "?"
        follow_up = policy.follow_up_text(topic) if policy is not None else None
        old, new = _clauses(chosen["text"]), _clauses(decision["final_text"])
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag in ("insert", "replace"):
                for clause in new[j1:j2]:
                    added[(topic, mask(unfill(clause, {}, follow_up)))] += 1
            if tag in ("delete", "replace"):
                for clause in old[i1:i2]:
                    removed[(topic, mask(unfill(clause, {}, follow_up)))] += 1
    return {"added": [(t, c, n) for (t, c), n in added.most_common(top)],
            "removed": [(t, c, n) for (t, c), n in removed.most_common(top)]}


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


# ---- files for review ------------------------------------------------------------------------

def _q(value: Any) -> str:
    """A YAML scalar for a line inserted into a builder's file (JSON is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _shown_path(file: str) -> str:
    try:
        return str(Path(file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return file


def _dump(header: Sequence[str], proposals: List[CommentedMap]) -> str:
    """The review file: a commented header, then `proposals:`, through ruamel's round-trip
    writer, so what a builder reads back (load_yaml, with lines) is exactly what was written."""
    document = CommentedMap(proposals=CommentedSeq(proposals))
    document.yaml_set_start_comment("\n".join(header))
    writer = YAML(typ="rt")
    writer.width = 4096  # one text, one line: easier to review and to edit
    writer.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    writer.dump(document, out)
    return out.getvalue()


def _quoted(text: str) -> DoubleQuotedScalarString:
    return DoubleQuotedScalarString(text)


def templates_yaml(proposals: Sequence[VariantProposal], stamp: str) -> str:
    header = [
        f"Reply variants mined from agents' edits ({stamp}). Texts are masked; nothing here is live.",
        "Review each: set `approve: true` on the ones to keep (you may edit `text`), then run",
        "  python -m assist mine --apply <this file>   and   make validate",
        "Entries with `problems` fail the template checks and cannot be applied as they are.",
    ]
    entries = []
    for i, p in enumerate(proposals, 1):
        entry = CommentedMap([
            ("id", f"variant-{i}"), ("kind", "template"), ("approve", False), ("concern", p.concern),
            ("stage", p.stage), ("tone", p.tone), ("text", _quoted(p.text)), ("based_on", p.based_on),
            ("file", _quoted(_shown_path(p.file))), ("support", p.support), ("chosen_with_base", p.shown),
        ])
        entry.yaml_add_eol_comment("agents' edits that made exactly this change", "support")
        entry.yaml_add_eol_comment(f"decisions whose chosen draft used {p.based_on}", "chosen_with_base")
        if p.problems:
            entry["problems"] = CommentedSeq(_quoted(x) for x in p.problems)
        entry["examples"] = CommentedSeq(
            CommentedMap([("draft", _quoted(draft)), ("sent", _quoted(sent))]) for draft, sent in p.examples)
        entries.append(entry)
    return _dump(header, entries)


def nlu_yaml(proposals: Sequence[ExampleProposal], stamp: str, dropped: Mapping[str, int]) -> str:
    header = [
        f"NLU examples mined from customer messages ({stamp}): ones the bot was unsure about and",
        "ones whose concern an agent corrected. Masked (<订单号>, <手机号> …); a masked order number",
        "becomes an annotated made-up one when applied. Check the intent against data/README.md's",
        "label guide, set `approve: true`, then: python -m assist mine --apply <this file>; make validate; make train",
    ]
    if dropped:
        header.append("not proposed: " + ", ".join(f"{n} {why}" for why, n in sorted(dropped.items())))
    entries = [CommentedMap([("id", f"example-{i}"), ("kind", "nlu"), ("approve", False), ("intent", p.intent),
                             ("text", _quoted(p.text)), ("why", _quoted(p.why)), ("seen", p.seen)])
               for i, p in enumerate(proposals, 1)]
    return _dump(header, entries)


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


# ---- merging what a person approved ---------------------------------------------------------

FAKE = {"<订单号>": "[4392018876512093](order_id)", "<手机号>": "13800000000", "<运单号>": "YT0000000000000",
        "<姓名>": "王", "<地址>": "杭州市西湖区文三路1号", "<邮箱>": "", "<证件号>": ""}


def _insert_after(path: Path, line: int, new_line: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines.insert(line, new_line + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def apply_approved(proposals_file: Path, data_dir: Path, replies_dir: Optional[Path] = None) -> List[str]:
    """Merge entries marked `approve: true`; returns one line per entry saying what happened."""
    from assist.shop.datafile import load_yaml
    from assist.shop.templates import DEFAULT_DIR
    from assist.builders.trainingdata import read_examples

    data, _, problems = load_yaml(proposals_file)
    if problems:
        raise ValueError("\n".join(str(p) for p in problems))
    report = []
    for entry in (data or {}).get("proposals") or []:
        if entry.get("approve") is not True:
            continue
        name = entry.get("id", "?")
        if entry.get("problems"):
            report.append(f"{name}: skipped, it has problems (fix the text and remove `problems` first)")
            continue
        if entry.get("kind") == "nlu":
            report.append(f"{name}: " + _apply_example(entry, data_dir, read_examples))
        elif entry.get("kind") == "template":
            report.append(f"{name}: " + _apply_variant(entry, Path(replies_dir or DEFAULT_DIR)))
        else:
            report.append(f"{name}: skipped, unknown kind {entry.get('kind')!r}")
    return report


def _apply_example(entry: Mapping[str, Any], data_dir: Path, read_examples) -> str:
    intent, text = entry.get("intent"), str(entry.get("text") or "").strip()
    if not intent or not text:
        return "skipped, needs intent and text"
    for placeholder, fake in FAKE.items():
        text = text.replace(placeholder, fake)
    examples, _, _ = read_examples(data_dir / "nlu" if (data_dir / "nlu").is_dir() else data_dir)
    same = [e for e in examples if compact(e.text) == compact(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text))]
    if same:
        return f"already in {same[0].file}:{same[0].line} as {same[0].intent}; not added"
    mine_ = [e for e in examples if e.intent == intent]
    if not mine_:
        return f"skipped, no file has intent {intent!r} yet (create data/nlu/{intent}.yml first)"
    last = mine_[-1]  # the end of the intent's last examples block
    source_line = Path(last.file).read_text(encoding="utf-8").splitlines()[last.line - 1]
    indent = source_line[: len(source_line) - len(source_line.lstrip())]
    _insert_after(Path(last.file), last.line, f"{indent}- {text}")
    return f"added to {last.file}:{last.line + 1} ({intent})"


def _apply_variant(entry: Mapping[str, Any], replies_dir: Path) -> str:
    from assist.shop.datafile import load_yaml

    concern, stage, tone, text = entry.get("concern"), entry.get("stage"), entry.get("tone"), entry.get("text")
    if not all(isinstance(x, str) and x for x in (concern, stage, tone, text)):
        return "skipped, needs concern, stage, tone and text"
    for path in sorted(replies_dir.glob("*.yml")):
        data, where, problems = load_yaml(path)
        if problems or not isinstance(data, dict) or concern not in data:
            continue
        variants = ((data[concern].get("stages") or {}).get(stage) or {}).get(tone)
        if not isinstance(variants, list) or not variants:
            return f"skipped, {path} has no {concern}.{stage}.{tone} list to add to"
        if any((v if isinstance(v, str) else v.get("text")) == text for v in variants):
            return f"already in {path}; not added"
        last_line = where.line([concern, "stages", stage, tone, len(variants) - 1])
        source_line = path.read_text(encoding="utf-8").splitlines()[last_line - 1]
        indent = source_line[: len(source_line) - len(source_line.lstrip())]
        _insert_after(path, last_line, f"{indent}- {_q(text)}")
        return f"added to {_shown_path(str(path))}:{last_line + 1} as {concern}.{stage}.{tone}.{len(variants) + 1}"
    return f"skipped, no reply file defines {concern!r}"

"""Lining an agent's edit up with the template pieces its draft was made of: which piece the
agent rewrote and how, and which clauses agents add to or cut from drafts most often. What
`assist mine` proposes variants from, and what the acceptance report shows."""
from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from assist.drafting.acceptance import _pattern
from assist.text.masking import mask

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

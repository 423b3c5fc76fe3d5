"""What agents did with the drafts, as Markdown for bot builders (`python -m assist acceptance`,
and the "Drafts in use" part of `make evaluate`'s report).

Per release (model × templates), per concern, per template variant (as the draft's resolve
variant and as a piece of any draft), the clauses agents add and cut most, and rejected
drafts with the agents' reasons. Text is masked.
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any, Dict, List, Mapping, Optional, Sequence

from assist.drafting.acceptance import ANY, PLAN, Acceptance
from assist.text.masking import mask
from assist.builders.edits import frequent_edits

# A piece is listed among the least liked once agents have decided on it this often.
MIN_SHOWN = 5


def _pct(n: float, d: float) -> str:
    return f"{100 * n / d:.0f}%" if d else "–"


def _rates(records: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    actions = Counter((r["decision"] or {}).get("action") for r in records)
    n = len(records)
    top1 = sum(1 for r in records if (r["decision"] or {}).get("action") == "approve" and r["decision"].get("rank") == 1)
    seconds = [r["decision"]["seconds_to_decide"] for r in records if (r["decision"] or {}).get("seconds_to_decide") is not None]
    edits = [r["decision"]["edit_distance"] for r in records
             if (r["decision"] or {}).get("action") == "edit" and r["decision"].get("edit_distance") is not None]
    return {"n": n, "approve": actions["approve"], "edit": actions["edit"], "reject": actions["reject"], "top1": top1,
            "seconds": statistics.median(seconds) if seconds else None,
            "edit_chars": statistics.median(edits) if edits else None}


def _row(name: str, r: Mapping[str, Any]) -> str:
    seconds = f"{r['seconds']:.0f} s" if r["seconds"] is not None else "–"
    chars = f"{r['edit_chars']:.0f}" if r["edit_chars"] is not None else "–"
    return (f"| {name} | {r['n']} | {_pct(r['top1'], r['n'])} | {_pct(r['approve'], r['n'])} | {_pct(r['edit'], r['n'])} | "
            f"{_pct(r['reject'], r['n'])} | {chars} | {seconds} |")


HEAD = ("| {} | decisions | top draft sent as is | any draft sent as is | edited | rejected | chars changed (median) | time to decide (median) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|")


def render(records: Sequence[Mapping[str, Any]], acceptance: Optional[Acceptance] = None, policy=None,
           top: int = 12) -> str:
    decided = [r for r in records if r.get("decision")]
    if not decided:
        return "No decisions recorded yet: the tables fill in as agents approve, edit and reject drafts.\n"
    acceptance = acceptance or Acceptance.from_records(decided)
    out: List[str] = [f"{len(decided)} decisions on batches of drafts.\n"]

    out += ["### By release (model × templates)\n", HEAD.format("release")]
    by_release: Dict[str, list] = defaultdict(list)
    for r in decided:
        v = r.get("versions") or {}
        by_release[f"{v.get('model', '?')} × {v.get('templates', '?')}"].append(r)
    out += [_row(name, _rates(rs)) for name, rs in sorted(by_release.items())]

    out += ["", "### By concern\n", HEAD.format("concern")]
    by_topic: Dict[str, list] = defaultdict(list)
    for r in decided:
        by_topic[r.get("topic") or "?"].append(r)
    out += [_row(name, _rates(rs)) for name, rs in sorted(by_topic.items(), key=lambda kv: -len(kv[1]))]

    out += ["", "### By draft (its resolve variant)\n",
            "offered: in the batch; sent: approved as is; edited / rejected: that draft edited, or the batch rejected;"
            " passed over: a draft below it was chosen. Learned score: the posterior the composer ranks by (prior 0.50).\n",
            "| variant | offered | at rank 1 | sent | edited | rejected | passed over | learned score |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    stats: Dict[str, Counter] = defaultdict(Counter)
    topics: Dict[str, str] = {}
    for r in decided:
        d = r["decision"]
        chosen_rank = d.get("rank") if d.get("action") in ("approve", "edit") else None
        for draft in r.get("drafts") or []:
            vid = draft.get("variant_id") or "?"
            topics.setdefault(vid, r.get("topic") or "?")
            s = stats[vid]
            s["offered"] += 1
            s["rank1"] += draft.get("rank") == 1
            if d.get("action") == "reject" or (d.get("action") == "edit" and chosen_rank is None):
                s["rejected"] += 1
            elif draft.get("rank") == chosen_rank:
                s["sent" if d.get("action") == "approve" else "edited"] += 1
            elif chosen_rank is not None and (draft.get("rank") or 0) < chosen_rank:
                s["passed"] += 1
    for vid, s in sorted(stats.items(), key=lambda kv: (-kv[1]["offered"], kv[0]))[: top * 2]:
        score = acceptance.mean(vid, topics[vid], ANY)
        out.append(f"| `{vid}` | {s['offered']} | {s['rank1']} | {s['sent']} ({_pct(s['sent'], s['offered'])}) | {s['edited']} | "
                   f"{s['rejected']} | {s['passed']} | {score:.2f} |")

    pieces = sorted(((key, topic), t) for (key, topic, temp), t in acceptance.tallies.items()
                    if temp == ANY and not key.startswith(PLAN) and t.shown >= MIN_SHOWN)
    if pieces:
        ranked = sorted(pieces, key=lambda kv: acceptance.mean(kv[0][0], kv[0][1], ANY))
        out += ["", "### Template pieces agents like least\n",
                f"Every variant of every stage seen in at least {MIN_SHOWN} decisions, scored over the drafts it was part of. "
                "Low scores are candidates to rewrite.\n",
                "| piece | concern | decisions | sent as is | kept in an edit | rewritten, passed over or rejected | score |",
                "|---|---|---:|---:|---:|---:|---:|"]
        for (key, topic), t in ranked[:top]:
            out.append(f"| `{key}` | {topic} | {t.shown} | {t.approved} | {t.edited} | {t.rejected + t.passed_over} | "
                       f"{acceptance.mean(key, topic, ANY):.2f} |")
        plans = sorted((k, t) for k, t in acceptance.tallies.items() if k[2] == ANY and k[0].startswith(PLAN))
        if plans:
            out += ["", "Plans (which kind of draft agents pick), by concern: " + "; ".join(
                f"{topic} {key[len(PLAN):]} {acceptance.mean(key, topic, ANY):.2f}" for (key, topic, _), t in plans)]

    edits = frequent_edits(decided, policy, top)
    if edits["added"] or edits["removed"]:
        out += ["", "### What agents change most\n", "| concern | added by agents | times |", "|---|---|---:|"]
        out += [f"| {t} | {c} | {n} |" for t, c, n in edits["added"]]
        out += ["", "| concern | cut by agents | times |", "|---|---|---:|"]
        out += [f"| {t} | {c} | {n} |" for t, c, n in edits["removed"]]
        out += ["", "`python -m assist mine` turns frequent edits into proposed variants for review."]

    rejects = [r for r in decided if r["decision"].get("action") == "reject"]
    if rejects:
        reasons = Counter(mask((r["decision"].get("reason") or "(no reason)").strip()) for r in rejects)
        out += ["", "### Rejected drafts, with the agents' reasons\n", "| reason | times | concern | the top draft they rejected (masked) |",
                "|---|---:|---|---|"]
        for reason, n in reasons.most_common(top):
            example = next(r for r in rejects if mask((r["decision"].get("reason") or "(no reason)").strip()) == reason)
            first = next((d for d in example.get("drafts") or [] if d.get("rank") == 1), None)
            shown = mask(first["text"]).replace("|", "｜") if first else "–"
            out.append(f"| {reason.replace('|', '｜')} | {n} | {example.get('topic') or '?'} | {shown} |")
    return "\n".join(out) + "\n"


def render_from_store(store, since=None, policy=None) -> str:
    records = store.learning.learning_records(since=since)
    return render(records, Acceptance.from_records(records), policy)


__all__ = ["render", "render_from_store"]


"""The figures page: how agents use the drafts and how fast customers get a person.

- Acceptance by concern and by template: of the decisions on drafts, how many were sent as is
  (approve), edited, or rejected. A decision counts under the concern its batch of drafts was
  made for (kefu_batches.topic, as `python -m assist acceptance` counts it), not the case's
  concern now: a case corrected from complaint to refund keeps its earlier decisions under
  complaint. A rejection refuses the whole batch; it counts against the
  template that was ranked first. A free text with no draft counts as an edit of "(free text)".
- Time to decide: from the moment a batch of drafts was made to the agent's decision on it.
- First response: from the case opening to the first text a person sent, per agent (who
  sent it) and per concern (of the batch that text answered), with the share answered within
  the platform's 3 minutes.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import now as store_now
from .schema import batch_records, cases, decisions, drafts

THREE_MINUTES = 180.0


def percentile(values: Iterable[float], q: float) -> Optional[float]:
    ordered = sorted(values)
    if not ordered:
        return None
    index = (len(ordered) - 1) * q
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (index - low), 1)


def _acceptance(rows: List[Dict[str, Any]], key: str) -> List[Dict[str, Any]]:
    groups: Dict[str, Dict[str, int]] = defaultdict(lambda: {"approve": 0, "edit": 0, "reject": 0})
    for row in rows:
        groups[row[key]][row["action"]] += 1
    table = []
    for name, counts in groups.items():
        total = sum(counts.values())
        table.append({
            key: name, "total": total, **counts,
            "sent_as_is": round(counts["approve"] / total, 3), "edited": round(counts["edit"] / total, 3),
            "rejected": round(counts["reject"] / total, 3),
        })
    return sorted(table, key=lambda r: (-r["total"], r[key]))


def _timing(rows: List[Dict[str, Any]], key: str) -> List[Dict[str, Any]]:
    groups: Dict[str, List[float]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row["seconds"])
    return sorted(
        ({key: name, "cases": len(seconds), "median_seconds": percentile(seconds, 0.5), "p90_seconds": percentile(seconds, 0.9),
          "within_3_min": round(sum(s <= THREE_MINUTES for s in seconds) / len(seconds), 3)}
         for name, seconds in groups.items()),
        key=lambda r: (-r["cases"], r[key]),
    )


class Figures:
    def __init__(self, engine: Engine):
        self.engine = engine

    def figures(self, days: float = 30.0, now: Optional[datetime] = None) -> Dict[str, Any]:
        since = (now or store_now()) - timedelta(days=days)
        batch_made = (
            sa.select(drafts.c.case_id, drafts.c.batch, sa.func.min(drafts.c.created_at).label("made_at"))
            .group_by(drafts.c.case_id, drafts.c.batch).subquery()
        )
        top_draft = sa.select(drafts.c.case_id, drafts.c.batch, drafts.c.variant_id).where(drafts.c.rank == 1).subquery()
        same_batch = lambda table: sa.and_(table.c.case_id == decisions.c.case_id, table.c.batch == decisions.c.batch)  # noqa: E731
        with self.engine.connect() as db:
            decided = db.execute(
                sa.select(decisions, cases.c.concerns, batch_made.c.made_at, top_draft.c.variant_id.label("top_variant"),
                          batch_records.c.topic)
                .join(cases, cases.c.id == decisions.c.case_id)
                .outerjoin(batch_made, same_batch(batch_made))
                .outerjoin(top_draft, same_batch(top_draft))
                .outerjoin(batch_records, same_batch(batch_records))
                .where(decisions.c.created_at >= since).order_by(decisions.c.id)
            ).all()
            answered = db.execute(
                sa.select(cases.c.id, cases.c.concerns, cases.c.opened_at, cases.c.first_response_at)
                .where(cases.c.opened_at >= since, cases.c.first_response_at.isnot(None))
            ).all()
            first_sent = {r.case_id: r for r in db.execute(
                sa.select(decisions.c.case_id, decisions.c.agent, batch_records.c.topic)
                .outerjoin(batch_records, same_batch(batch_records))
                .where(decisions.c.id.in_(
                    sa.select(sa.func.min(decisions.c.id)).where(decisions.c.final_text.isnot(None)).group_by(decisions.c.case_id)
                ))
            )}

        def concern_of(topic: Optional[str], raw: str) -> str:
            if topic:
                return topic
            found = json.loads(raw or "[]")  # a batch without a record (none since 0003): the case's concern
            return found[0] if found else "(none)"

        rows, waits = [], []
        for d in decided:
            template = d.variant_id if d.action != "reject" else d.top_variant
            rows.append({"concern": concern_of(d.topic, d.concerns), "template": template or "(free text)", "action": d.action})
            if d.made_at is not None:
                waits.append(max(0.0, (d.created_at - d.made_at).total_seconds()))
        first = []
        for c in answered:
            sent = first_sent.get(c.id)
            first.append({"agent": sent.agent if sent else "(unknown)", "concern": concern_of(sent.topic if sent else None, c.concerns),
                          "seconds": max(0.0, (c.first_response_at - c.opened_at).total_seconds())})
        return {
            "days": days,
            "decisions": len(rows),
            "acceptance": {"by_concern": _acceptance(rows, "concern"), "by_template": _acceptance(rows, "template")},
            "decide_seconds": {"median": percentile(waits, 0.5), "p90": percentile(waits, 0.9)},
            "first_response": {"by_agent": _timing(first, "agent"), "by_concern": _timing(first, "concern")},
        }

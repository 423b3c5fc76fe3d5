"""What the learning loop reads: one record per batch of drafts, with what the agent did with it.

Each record says which plan and template pieces every draft was made of, the NLU reading and
the model and template versions, so acceptance can be compared release against release
(assist/drafting/acceptance.py scores it; `assist mine` proposes from it). Also the agents' concern
corrections ("this is a refund, not a complaint"), which bot builders relabel.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .db import as_dict, dumps, iso, now, require_case
from .schema import batch_records, cases, concern_corrections, decisions, drafts
from .transcript import last_customer_text


def record_batch(db: Connection, case_id: str, batch: int, situation: Dict[str, Any], drafts_: List[Dict[str, Any]],
                 at: datetime, versions: Dict[str, str], customer_text: Optional[str]) -> None:
    nlu = situation.get("nlu") if isinstance(situation.get("nlu"), dict) else {}
    confidence = nlu.get("confidence")
    made_of = [{"rank": rank, "variant_id": d.get("variant_id", ""), "kind": d.get("kind", ""),
                "pieces": list(d.get("pieces") or ())} for rank, d in enumerate(drafts_, 1)]
    db.execute(batch_records.insert().values(
        case_id=case_id, batch=batch, topic=situation.get("topic") or situation.get("intent"),
        temperament=situation.get("temperament"), mood=situation.get("mood"),
        intent=nlu.get("intent") or situation.get("intent"),
        confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
        customer_text=customer_text, drafts=dumps(made_of), versions=dumps(versions or {}), created_at=at,
    ))


class LearningRecords:
    def __init__(self, engine: Engine):
        self.engine = engine

    def learning_records(self, since: Optional[datetime] = None, limit: int = 20000,
                         decided_only: bool = True) -> List[Dict[str, Any]]:
        """Batches of drafts with what the agent did with them, newest `limit`, oldest first.

        Each: case_id, batch, topic, temperament, mood, intent, confidence, customer_text,
        versions, drafts (rank, id, text, variant_id, kind, pieces) and decision (None when no
        one decided on the batch: the customer wrote again first, or it is still open).
        `since` counts from the decision (decided_only) or from the batch."""
        same_batch = sa.and_(decisions.c.case_id == batch_records.c.case_id, decisions.c.batch == batch_records.c.batch)
        query = sa.select(batch_records, decisions.c.id.label("decision_id"))
        if decided_only:
            query = query.join(decisions, same_batch).order_by(decisions.c.id.desc())
            if since is not None:
                query = query.where(decisions.c.created_at >= since)
        else:
            query = query.outerjoin(decisions, same_batch).order_by(batch_records.c.id.desc())
            if since is not None:
                query = query.where(batch_records.c.created_at >= since)
        with self.engine.connect() as db:
            picked = list(reversed(db.execute(query.limit(limit)).all()))
            out = []
            for start in range(0, len(picked), 500):
                chunk = picked[start:start + 500]
                case_ids = sorted({r.case_id for r in chunk})
                decision_rows = {r.id: r for r in db.execute(sa.select(decisions).where(
                    decisions.c.id.in_([r.decision_id for r in chunk if r.decision_id is not None])))}
                shown: Dict[tuple, list] = {}
                for d in db.execute(sa.select(drafts).where(drafts.c.case_id.in_(case_ids)).order_by(drafts.c.rank)):
                    shown.setdefault((d.case_id, d.batch), []).append(d)
                for record in chunk:
                    out.append(_learning_record(record, shown.get((record.case_id, record.batch), []),
                                                decision_rows.get(record.decision_id)))
        return out

    def correct_concern(self, case_id: str, agent: str, concern: str) -> Dict[str, Any]:
        """An agent says the case is about `concern`: recorded for the builders; the case follows."""
        with self.engine.begin() as db:
            case = require_case(db, case_id)
            detected = json.loads(case.concerns or "[]")
            correction_id = db.execute(concern_corrections.insert().values(
                case_id=case_id, agent=agent, detected_intent=case.intent, detected_concerns=dumps(detected),
                corrected=concern, customer_text=last_customer_text(db, case_id), at=now(),
            )).inserted_primary_key[0]
            db.execute(cases.update().where(cases.c.id == case_id).values(
                intent=concern, concerns=dumps([concern] + [c for c in detected if c != concern]),
            ))
            row = db.execute(sa.select(concern_corrections).where(concern_corrections.c.id == correction_id)).one()
        return _correction(row)

    def corrections(self, limit: int = 500) -> List[Dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(concern_corrections).order_by(concern_corrections.c.id.desc()).limit(limit)).all()
        return [_correction(r) for r in rows]


def _correction(row) -> Dict[str, Any]:
    data = as_dict(row)
    data["detected_concerns"] = json.loads(data["detected_concerns"] or "[]")
    return data


def _learning_record(record, draft_rows, decision) -> Dict[str, Any]:
    made_of = {d["rank"]: d for d in json.loads(record.drafts)}
    shown = []
    for r in draft_rows:
        meta = made_of.get(r.rank, {})
        shown.append({"id": r.id, "rank": r.rank, "text": r.text, "score": r.score, "variant_id": r.variant_id,
                      "kind": meta.get("kind") or "", "pieces": meta.get("pieces") or ([r.variant_id] if r.variant_id else [])})
    chosen = None
    if decision is not None:
        chosen = {"action": decision.action, "agent": decision.agent, "draft_id": decision.draft_id,
                  "rank": next((d["rank"] for d in shown if d["id"] == decision.draft_id), None),
                  "variant_id": decision.variant_id, "final_text": decision.final_text, "reason": decision.reason,
                  "edit_distance": decision.edit_distance, "seconds_to_decide": decision.seconds_to_decide,
                  "findings_overridden": bool(decision.findings_overridden), "created_at": iso(decision.created_at)}
    return {
        "case_id": record.case_id, "batch": record.batch, "topic": record.topic, "temperament": record.temperament,
        "mood": record.mood, "intent": record.intent, "confidence": record.confidence,
        "customer_text": record.customer_text, "versions": json.loads(record.versions or "{}"),
        "drafts": shown, "decision": chosen,
    }

"""A batch record for every batch of drafts, so the learning loop reads one shape of data.

Batches from before batch records existed had none; the store pieced their learning records
together from kefu_drafts and the case at every read. Here they get the record that reading
made: topic, temperament, mood and intent from the case, pieces from each draft's variant.

Revision ID: 0003_batch_records
Revises: 0002_utc_times
"""
import json

from alembic import op
import sqlalchemy as sa

revision = "0003_batch_records"
down_revision = "0002_utc_times"
branch_labels = None
depends_on = None

cases = sa.table("kefu_cases", sa.column("id"), sa.column("intent"), sa.column("mood"), sa.column("temperament"),
                 sa.column("situation"), sa.column("versions"))
drafts = sa.table("kefu_drafts", sa.column("case_id"), sa.column("batch"), sa.column("rank"), sa.column("variant_id"),
                  sa.column("created_at"))
decisions = sa.table("kefu_decisions", sa.column("case_id"), sa.column("batch"), sa.column("created_at"))
batches = sa.table("kefu_batches", sa.column("case_id"), sa.column("batch"), sa.column("topic"), sa.column("temperament"),
                   sa.column("mood"), sa.column("intent"), sa.column("confidence"), sa.column("customer_text"),
                   sa.column("drafts"), sa.column("versions"), sa.column("created_at"))


def upgrade() -> None:
    db = op.get_bind()
    recorded = {(r.case_id, r.batch) for r in db.execute(sa.select(batches.c.case_id, batches.c.batch))}
    made: dict = {}
    for d in db.execute(sa.select(drafts).order_by(drafts.c.case_id, drafts.c.batch, drafts.c.rank)):
        if (d.case_id, d.batch) not in recorded:
            entry = made.setdefault((d.case_id, d.batch), {"at": d.created_at, "drafts": []})
            entry["drafts"].append({"rank": d.rank, "variant_id": d.variant_id or "", "kind": "",
                                    "pieces": [d.variant_id] if d.variant_id else []})
    for d in db.execute(sa.select(decisions)):
        if (d.case_id, d.batch) not in recorded:
            made.setdefault((d.case_id, d.batch), {"at": d.created_at, "drafts": []})
    if not made:
        return
    by_case = {c.id: c for c in db.execute(sa.select(cases).where(cases.c.id.in_(sorted({k[0] for k in made}))))}
    rows = []
    for (case_id, batch), entry in sorted(made.items()):
        case = by_case.get(case_id)
        situation = json.loads(case.situation or "{}") if case is not None else {}
        rows.append({
            "case_id": case_id, "batch": batch,
            "topic": situation.get("topic") or (case.intent if case is not None else None),
            "temperament": situation.get("temperament") or (case.temperament if case is not None else None),
            "mood": case.mood if case is not None else None, "intent": case.intent if case is not None else None,
            "confidence": None, "customer_text": None, "drafts": json.dumps(entry["drafts"], ensure_ascii=False),
            "versions": (case.versions if case is not None else None) or "{}", "created_at": entry["at"],
        })
    op.bulk_insert(batches, rows)


def downgrade() -> None:
    pass  # the records are true to what was stored; keeping them harms nothing

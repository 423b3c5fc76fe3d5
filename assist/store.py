"""The suggestion store: cases, their messages, drafts, agents' decisions and the delivery outbox.

One schema on SQLAlchemy 1.4 Core: a SQLite file by default, any SQLAlchemy URL (PostgreSQL)
by configuration. Every write that decides something is one transaction guarded by a unique
key, so two agents approving one case at the same moment give one decision and one delivery.

A case is a conversation with a person. While it is open the bot is paused; customer
messages join it. Drafts come in batches: each batch answers the customer's latest words,
and one decision consumes one batch (unique (case, batch)).
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

DEFAULT_URL = f"sqlite:///{Path(__file__).resolve().parent.parent / '.kefu' / 'suggestions.db'}"
OPEN, RESOLVED, CANCELLED = "open", "resolved", "cancelled"
DECISION_ACTIONS = ("approve", "edit", "reject")
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

metadata = sa.MetaData()

cases = sa.Table(
    "kefu_cases", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False, default="rest"),
    sa.Column("state", sa.String(16), nullable=False, default=OPEN, index=True),
    sa.Column("intent", sa.String(64)),
    sa.Column("concerns", sa.Text, nullable=False, default="[]"),
    sa.Column("mood", sa.String(16)),
    sa.Column("temperament", sa.String(32)),
    sa.Column("urgency", sa.Float, nullable=False, default=0.0),
    sa.Column("situation", sa.Text, nullable=False, default="{}"),
    sa.Column("batch", sa.Integer, nullable=False, default=0),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("last_customer_at", sa.DateTime),
    sa.Column("first_response_at", sa.DateTime),
    sa.Column("resolved_at", sa.DateTime),
    sa.Column("wait_updates", sa.Integer, nullable=False, default=0),
    sa.Column("created_by", sa.String(32), nullable=False, default="action"),
    sa.Column("rating", sa.Integer),
    sa.Column("versions", sa.Text, nullable=False, default="{}"),
)
# At most one open case per conversation (a partial unique index, on SQLite and PostgreSQL):
# when the action and the event follower open one at the same moment, the second joins the first.
sa.Index(
    "kefu_one_open_case", cases.c.conversation_id, unique=True,
    sqlite_where=cases.c.state == OPEN, postgresql_where=cases.c.state == OPEN,
)

messages = sa.Table(
    "kefu_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), nullable=False, index=True),
    sa.Column("sender", sa.String(16), nullable=False),  # customer | bot | agent
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    # The source event (Rasa event broker row or message id): the same message never joins twice.
    sa.Column("source_key", sa.String(128)),
    sa.UniqueConstraint("case_id", "source_key", name="kefu_message_once"),
)

drafts = sa.Table(
    "kefu_drafts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), nullable=False, index=True),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("variant_id", sa.String(128), nullable=False, default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

decisions = sa.Table(
    "kefu_decisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), nullable=False, index=True),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("draft_id", sa.Integer),
    sa.Column("variant_id", sa.String(128)),
    sa.Column("final_text", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("edit_distance", sa.Integer),
    sa.Column("seconds_to_decide", sa.Float),
    sa.Column("findings_overridden", sa.Boolean, nullable=False, default=False),
    sa.Column("resolve", sa.Boolean, nullable=False, default=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # One decision per batch of drafts: the second agent gets "already handled".
    sa.UniqueConstraint("case_id", "batch", name="kefu_one_decision_per_batch"),
)

deliveries = sa.Table(
    "kefu_deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.Integer, sa.ForeignKey("kefu_decisions.id"), unique=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, default="agent"),  # agent | holding | update | system
    sa.Column("resume_bot", sa.Boolean, nullable=False, default=False),
    sa.Column("state", sa.String(16), nullable=False, default=PENDING, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("delivered_at", sa.DateTime),
)

agents = sa.Table(
    "kefu_agents", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

follower_state = sa.Table(
    "kefu_follower", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_event_id", sa.Integer, nullable=False, default=0),
)


# ---- what the learning loop reads: one row per batch of drafts (assist/learning.py) ----------
# Which plan and template pieces each draft was made of, the NLU reading and the model and
# template versions that produced them, so acceptance can be compared release against release.
batch_records = sa.Table(
    "kefu_batches", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), nullable=False, index=True),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("topic", sa.String(64)),
    sa.Column("temperament", sa.String(32)),
    sa.Column("mood", sa.String(16)),
    sa.Column("intent", sa.String(64)),
    sa.Column("confidence", sa.Float),               # NLU confidence in `intent`, when Rasa gave one
    sa.Column("customer_text", sa.Text),             # the words this batch answers
    sa.Column("drafts", sa.Text, nullable=False, default="[]"),  # [{rank, variant_id, kind, pieces}]
    sa.Column("versions", sa.Text, nullable=False, default="{}"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("case_id", "batch", name="kefu_one_record_per_batch"),
)


# ---- the console's own records (sign-in, claims, corrections, ratings, web-chat context) ----
agent_passwords = sa.Table(
    "kefu_agent_passwords", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),  # Argon2id, hashed by console/auth.py
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

web_sessions = sa.Table(
    "kefu_web_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # the cookie's value is never stored
    sa.Column("agent", sa.String(64), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

claim_log = sa.Table(
    "kefu_claims", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), nullable=False, index=True),
    sa.Column("agent", sa.String(64)),  # None: released
    sa.Column("previous", sa.String(64)),
    sa.Column("kind", sa.String(16), nullable=False),  # claim | takeover | release
    sa.Column("at", sa.DateTime, nullable=False),
)

concern_corrections = sa.Table(
    "kefu_concern_corrections", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), nullable=False, index=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("detected_intent", sa.String(64)),
    sa.Column("detected_concerns", sa.Text, nullable=False, default="[]"),
    sa.Column("corrected", sa.String(64), nullable=False),
    sa.Column("customer_text", sa.Text),  # the words the bot builders relabel
    sa.Column("at", sa.DateTime, nullable=False),
)

ratings = sa.Table(
    "kefu_ratings", metadata,
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), primary_key=True),  # once per case
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
)

chat_contexts = sa.Table(
    "kefu_chat_contexts", metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("context", sa.Text, nullable=False, default="{}"),  # order_id, customer_id from the shop's page
    sa.Column("verified", sa.Boolean, nullable=False, default=False),  # signed by the shop's server
    sa.Column("updated_at", sa.DateTime, nullable=False),
)


class StoreError(Exception):
    code = "store_error"
    status = 500


class NotFound(StoreError):
    code, status = "not_found", 404


class WrongState(StoreError):
    code, status = "wrong_state", 409


class AlreadyHandled(StoreError):
    code, status = "already_handled", 409


class Claimed(StoreError):
    """Another agent has the case; taking it over must be explicit."""
    code, status = "claimed", 409

    def __init__(self, message: str, claimed_by: str):
        super().__init__(message)
        self.claimed_by = claimed_by


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance in characters: how much an agent changed a draft."""
    if a == b:
        return 0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _row(row) -> Dict[str, Any]:
    data = dict(row._mapping)
    for key in ("concerns", "situation", "versions"):
        if key in data and isinstance(data[key], str):
            data[key] = json.loads(data[key])
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return data


def use_wal(dbapi_connection, _record=None) -> None:
    """SQLite in WAL mode: readers never block the writer, so the action server, the console and
    its workers don't queue behind each other (rollback-journal locks cost hundreds of ms)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SuggestionStore:
    def __init__(self, url: Optional[str] = None):
        self.url = url or os.environ.get("KEFU_STORE_URL") or DEFAULT_URL
        if self.url.startswith("sqlite:///"):
            Path(self.url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
            # Rasa's action server and the console write at once: wait for the lock, don't fail.
            self.engine = sa.create_engine(self.url, future=True, connect_args={"timeout": 30, "check_same_thread": False})
            sa.event.listen(self.engine, "connect", use_wal)
        else:
            self.engine = sa.create_engine(self.url, future=True, pool_pre_ping=True)
        metadata.create_all(self.engine)

    # ---- cases ------------------------------------------------------------------------------
    def open_case(
        self,
        conversation_id: str,
        situation: Dict[str, Any],
        drafts_: Iterable[Dict[str, Any]],
        customer_text: str,
        channel: Optional[str] = None,
        source_key: Optional[str] = None,
        created_by: str = "action",
        versions: Optional[Dict[str, str]] = None,
        at: Optional[datetime] = None,
    ) -> Dict[str, Any]:
        """Open a case for the conversation, or join the open one; store a new batch of drafts."""
        at = at or _now()
        drafts_ = list(drafts_)
        try:
            return self._open_case(conversation_id, situation, drafts_, customer_text, channel, source_key, created_by, versions, at)
        except IntegrityError:
            # Someone opened it a moment ago: join theirs.
            return self._open_case(conversation_id, situation, drafts_, customer_text, channel, source_key, created_by, versions, at)

    def _open_case(self, conversation_id, situation, drafts_, customer_text, channel, source_key, created_by, versions, at):
        with self.engine.begin() as db:
            case = db.execute(
                sa.select(cases).where(cases.c.conversation_id == conversation_id, cases.c.state == OPEN)
            ).first()
            if case is None:
                case_id = str(uuid.uuid4())
                db.execute(cases.insert().values(
                    id=case_id, conversation_id=conversation_id, channel=channel or "rest", state=OPEN,
                    intent=situation.get("intent"), concerns=json.dumps(situation.get("concerns", []), ensure_ascii=False),
                    mood=situation.get("mood"), temperament=situation.get("temperament"),
                    urgency=float(situation.get("urgency") or 0), situation=json.dumps(situation, ensure_ascii=False),
                    batch=0, opened_at=at, last_customer_at=at, created_by=created_by,
                    versions=json.dumps(versions or {}),
                ))
            else:
                case_id = case.id
            self._add_message(db, case_id, "customer", customer_text, at, source_key)
            batch = self._new_batch(db, case_id, situation, drafts_, at, channel, versions)
        return {"id": case_id, "batch": batch, "joined": case is not None}

    def _new_batch(self, db, case_id: str, situation: Dict[str, Any], drafts_: Iterable[Dict[str, Any]], at: datetime, channel: Optional[str] = None, versions: Optional[Dict[str, str]] = None) -> int:
        case = db.execute(sa.select(cases.c.batch, cases.c.urgency, cases.c.versions).where(cases.c.id == case_id)).one()
        batch = case.batch + 1
        drafts_ = list(drafts_)
        self._record_batch(db, case_id, batch, situation, drafts_, at, versions if versions is not None else json.loads(case.versions or "{}"))
        for rank, draft in enumerate(drafts_, 1):
            db.execute(drafts.insert().values(
                case_id=case_id, batch=batch, rank=rank, text=draft["text"], score=float(draft.get("score", 0)),
                reason=draft.get("reason", ""), variant_id=draft.get("variant_id", ""), created_at=at,
            ))
        values = dict(
            batch=batch, situation=json.dumps(situation, ensure_ascii=False),
            concerns=json.dumps(situation.get("concerns", []), ensure_ascii=False),
            mood=situation.get("mood"), temperament=situation.get("temperament"),
            # Urgency only rises while a case is open: a calmer message does not bury an old anger.
            urgency=max(float(situation.get("urgency") or 0), case.urgency or 0.0),
        )
        if channel:
            values["channel"] = channel
        db.execute(cases.update().where(cases.c.id == case_id).values(**values))
        return batch

    def _add_message(self, db, case_id: str, sender: str, text: str, at: datetime, source_key: Optional[str]) -> bool:
        try:
            with db.begin_nested():
                db.execute(messages.insert().values(case_id=case_id, sender=sender, text=text, at=at, source_key=source_key))
        except IntegrityError:
            return False  # the same source event already joined this case
        if sender == "customer":
            db.execute(cases.update().where(cases.c.id == case_id).values(last_customer_at=at))
        return True

    def add_message(self, case_id: str, sender: str, text: str, source_key: Optional[str] = None, at: Optional[datetime] = None) -> bool:
        with self.engine.begin() as db:
            self._require(db, case_id)
            return self._add_message(db, case_id, sender, text, at or _now(), source_key)

    def redraft(self, case_id: str, situation: Dict[str, Any], drafts_: Iterable[Dict[str, Any]],
                versions: Optional[Dict[str, str]] = None) -> int:
        """A new batch of drafts for the customer's latest words (the old batch is superseded).
        `versions` (model, templates) default to the case's."""
        with self.engine.begin() as db:
            self._require(db, case_id, state=OPEN)
            return self._new_batch(db, case_id, situation, drafts_, _now(), versions=versions)

    def _record_batch(self, db, case_id: str, batch: int, situation: Dict[str, Any], drafts_: List[Dict[str, Any]],
                      at: datetime, versions: Dict[str, str]) -> None:
        nlu = situation.get("nlu") if isinstance(situation.get("nlu"), dict) else {}
        confidence = nlu.get("confidence")
        text = db.execute(
            sa.select(messages.c.text).where(messages.c.case_id == case_id, messages.c.sender == "customer")
            .order_by(messages.c.id.desc()).limit(1)
        ).scalar()
        made_of = [{"rank": rank, "variant_id": d.get("variant_id", ""), "kind": d.get("kind", ""),
                    "pieces": list(d.get("pieces") or ())} for rank, d in enumerate(drafts_, 1)]
        db.execute(batch_records.insert().values(
            case_id=case_id, batch=batch, topic=situation.get("topic") or situation.get("intent"),
            temperament=situation.get("temperament"), mood=situation.get("mood"),
            intent=nlu.get("intent") or situation.get("intent"),
            confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
            customer_text=text, drafts=json.dumps(made_of, ensure_ascii=False),
            versions=json.dumps(versions or {}, ensure_ascii=False), created_at=at,
        ))

    def open_case_for(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(cases).where(cases.c.conversation_id == conversation_id, cases.c.state == OPEN)
            ).first()
        return _row(row) if row else None

    def list_cases(self, state: str = OPEN, limit: int = 200) -> List[Dict[str, Any]]:
        """Open cases, most urgent first, then longest waiting."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(cases).where(cases.c.state == state)
                .order_by(cases.c.urgency.desc(), cases.c.last_customer_at.asc()).limit(limit)
            ).all()
            result = []
            for row in rows:
                case = _row(row)
                last = db.execute(
                    sa.select(messages.c.text).where(messages.c.case_id == row.id, messages.c.sender == "customer")
                    .order_by(messages.c.id.desc()).limit(1)
                ).scalar()
                case["last_customer_text"] = last
                result.append(case)
        return result

    def get_case(self, case_id: str) -> Dict[str, Any]:
        with self.engine.connect() as db:
            case = _row(self._require(db, case_id))
            case["messages"] = [_row(r) for r in db.execute(
                sa.select(messages).where(messages.c.case_id == case_id).order_by(messages.c.id)).all()]
            case["drafts"] = [_row(r) for r in db.execute(
                sa.select(drafts).where(drafts.c.case_id == case_id, drafts.c.batch == case["batch"]).order_by(drafts.c.rank)).all()]
            case["decisions"] = [_row(r) for r in db.execute(
                sa.select(decisions).where(decisions.c.case_id == case_id).order_by(decisions.c.id)).all()]
            case["deliveries"] = [_row(r) for r in db.execute(
                sa.select(deliveries).where(deliveries.c.case_id == case_id).order_by(deliveries.c.id)).all()]
        return case

    def _require(self, db, case_id: str, state: Optional[str] = None):
        row = db.execute(sa.select(cases).where(cases.c.id == str(case_id))).first()
        if row is None:
            raise NotFound(f"no case {case_id}")
        if state and row.state != state:
            raise WrongState(f"case {case_id} is {row.state}, not {state}")
        return row

    # ---- decisions and the outbox -----------------------------------------------------------
    def decide(
        self,
        case_id: str,
        agent: str,
        action: str,
        draft_id: Optional[int] = None,
        text: Optional[str] = None,
        reason: Optional[str] = None,
        resolve: bool = False,
        batch: Optional[int] = None,
        idempotency_key: Optional[str] = None,
        findings_overridden: bool = False,
    ) -> Dict[str, Any]:
        """Record an agent's decision on the current drafts and queue its delivery, atomically.

        `batch` is the batch the agent saw; deciding on a superseded batch is 409, so an agent
        never answers words they did not read. The same idempotency key returns the same decision.
        """
        if action not in DECISION_ACTIONS:
            raise ValueError(f"action must be one of {DECISION_ACTIONS}")
        now = _now()
        with self.engine.begin() as db:
            if idempotency_key:
                earlier = db.execute(sa.select(decisions).where(decisions.c.idempotency_key == idempotency_key)).first()
                if earlier is not None:
                    return _row(earlier)
            case = self._require(db, case_id, state=OPEN)
            if batch is not None and batch != case.batch:
                raise AlreadyHandled(f"case {case_id} has newer drafts (batch {case.batch}); reload it")
            draft = None
            if draft_id is not None:
                draft = db.execute(sa.select(drafts).where(drafts.c.id == draft_id, drafts.c.case_id == case_id)).first()
                if draft is None:
                    raise NotFound(f"no draft {draft_id} on case {case_id}")
                if draft.batch != case.batch:
                    raise AlreadyHandled(f"draft {draft_id} was superseded by newer drafts")
            if action == "approve":
                if draft is None:
                    raise ValueError("approve needs a draft_id")
                final_text = draft.text
            elif action == "edit":
                if not text or not text.strip():
                    raise ValueError("edit needs a non-empty text")
                final_text = text.strip()
            else:
                final_text = None
            opened = datetime.fromisoformat(case.opened_at) if isinstance(case.opened_at, str) else case.opened_at
            key = idempotency_key or f"{case_id}:{case.batch}:{uuid.uuid4().hex}"
            try:
                with db.begin_nested():
                    decision_id = db.execute(decisions.insert().values(
                        case_id=case_id, batch=case.batch, agent=agent, action=action,
                        draft_id=draft.id if draft is not None else None,
                        variant_id=draft.variant_id if draft is not None else None,
                        final_text=final_text, reason=reason,
                        edit_distance=edit_distance(draft.text, final_text) if draft is not None and final_text else None,
                        seconds_to_decide=(now - opened).total_seconds(), findings_overridden=findings_overridden,
                        resolve=resolve, idempotency_key=key, created_at=now,
                    )).inserted_primary_key[0]
            except IntegrityError:
                raise AlreadyHandled(f"case {case_id}: these drafts were already handled by another agent") from None
            if final_text:
                db.execute(deliveries.insert().values(
                    decision_id=decision_id, case_id=case_id, conversation_id=case.conversation_id,
                    channel=case.channel, text=final_text, kind="agent", resume_bot=resolve,
                    state=PENDING, attempts=0, next_attempt_at=now, created_at=now,
                ))
                self._add_message(db, case_id, "agent", final_text, now, f"decision:{decision_id}")
                if case.first_response_at is None:
                    db.execute(cases.update().where(cases.c.id == case_id).values(first_response_at=now))
            if resolve:
                db.execute(cases.update().where(cases.c.id == case_id).values(state=RESOLVED, resolved_at=now))
            row = db.execute(sa.select(decisions).where(decisions.c.id == decision_id)).one()
        return _row(row)

    def close_case(self, case_id: str, state: str = RESOLVED, notify_text: Optional[str] = None) -> Dict[str, Any]:
        """Resolve (or cancel) a case; the bot resumes through the outbox, with an optional message."""
        now = _now()
        with self.engine.begin() as db:
            case = self._require(db, case_id, state=OPEN)
            db.execute(cases.update().where(cases.c.id == case_id).values(state=state, resolved_at=now))
            db.execute(deliveries.insert().values(
                case_id=case_id, conversation_id=case.conversation_id, channel=case.channel,
                text=notify_text or "", kind="system", resume_bot=True, state=PENDING, attempts=0,
                next_attempt_at=now, created_at=now,
            ))
            if notify_text:
                self._add_message(db, case_id, "bot", notify_text, now, f"close:{case_id}")
        return self.get_case(case_id)

    def queue_message(self, case_id: str, text: str, kind: str = "update") -> int:
        """A message from kefu-assist itself (holding message, waiting update) through the outbox."""
        now = _now()
        with self.engine.begin() as db:
            case = self._require(db, case_id)
            delivery_id = db.execute(deliveries.insert().values(
                case_id=case_id, conversation_id=case.conversation_id, channel=case.channel, text=text,
                kind=kind, resume_bot=False, state=PENDING, attempts=0, next_attempt_at=now, created_at=now,
            )).inserted_primary_key[0]
            self._add_message(db, case_id, "bot", text, now, f"delivery:{delivery_id}")
            if kind == "update":
                db.execute(cases.update().where(cases.c.id == case_id).values(wait_updates=cases.c.wait_updates + 1))
        return delivery_id

    def due_deliveries(self, now: Optional[datetime] = None, limit: int = 50) -> List[Dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(deliveries).where(deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= (now or _now()))
                .order_by(deliveries.c.id).limit(limit)
            ).all()
        return [_row(r) for r in rows]

    def mark_delivered(self, delivery_id: int) -> None:
        with self.engine.begin() as db:
            db.execute(deliveries.update().where(deliveries.c.id == delivery_id)
                       .values(state=DELIVERED, delivered_at=_now(), attempts=deliveries.c.attempts + 1))

    def mark_attempt_failed(self, delivery_id: int, error: str, retry_in: timedelta, give_up: bool = False) -> None:
        with self.engine.begin() as db:
            db.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(
                state=FAILED if give_up else PENDING, last_error=error[:2000],
                attempts=deliveries.c.attempts + 1, next_attempt_at=_now() + retry_in,
            ))

    # ---- the learning loop's input (read-only; assist/learning.py) ---------------------------
    def learning_records(self, since: Optional[datetime] = None, limit: int = 20000,
                         decided_only: bool = True) -> List[Dict[str, Any]]:
        """Batches of drafts with what the agent did with them, newest `limit`, oldest first.

        Each: case_id, batch, topic, temperament, mood, intent, confidence, customer_text,
        versions, drafts (rank, id, text, variant_id, kind, pieces) and decision (None when
        no one decided on the batch: the customer wrote again first, or it is still open).
        Batches from before batch records existed come back with what kefu_drafts and the
        case know."""
        with self.engine.connect() as db:
            if decided_only:
                query = (sa.select(decisions.c.case_id, decisions.c.batch).order_by(decisions.c.id.desc()).limit(limit))
                if since is not None:
                    query = query.where(decisions.c.created_at >= since)
            else:
                query = (sa.select(drafts.c.case_id, drafts.c.batch).group_by(drafts.c.case_id, drafts.c.batch)
                         .order_by(sa.func.min(drafts.c.id).desc()).limit(limit))
                if since is not None:
                    query = query.having(sa.func.min(drafts.c.created_at) >= since)
            keys = list(reversed([(r[0], r[1]) for r in db.execute(query).all()]))
            out = []
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                case_ids = sorted({k[0] for k in chunk})
                case_rows = {r.id: r for r in db.execute(sa.select(cases).where(cases.c.id.in_(case_ids))).all()}
                record_rows = {(r.case_id, r.batch): r for r in db.execute(
                    sa.select(batch_records).where(batch_records.c.case_id.in_(case_ids))).all()}
                decision_rows = {(r.case_id, r.batch): r for r in db.execute(
                    sa.select(decisions).where(decisions.c.case_id.in_(case_ids))).all()}
                draft_rows: Dict[tuple, list] = {}
                for r in db.execute(sa.select(drafts).where(drafts.c.case_id.in_(case_ids)).order_by(drafts.c.rank)).all():
                    draft_rows.setdefault((r.case_id, r.batch), []).append(r)
                for key in chunk:
                    out.append(_learning_record(case_rows[key[0]], record_rows.get(key), draft_rows.get(key, []),
                                                decision_rows.get(key)))
        return out

    # ---- agents -----------------------------------------------------------------------------
    def create_agent(self, name: str) -> str:
        """Create an agent (or rotate their token); returns the token, shown once."""
        if not name or len(name) > 64:
            raise ValueError("agent name must be 1–64 characters")
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as db:
            db.execute(agents.delete().where(agents.c.name == name))
            db.execute(agents.insert().values(name=name, token_hash=_hash_token(token), created_at=_now()))
        return token

    def agent_for_token(self, token: Optional[str]) -> Optional[str]:
        if not token:
            return None
        with self.engine.connect() as db:
            return db.execute(sa.select(agents.c.name).where(agents.c.token_hash == _hash_token(token))).scalar()

    # ---- event follower bookmark ------------------------------------------------------------
    def follower_position(self, name: str) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(follower_state.c.last_event_id).where(follower_state.c.name == name)).scalar() or 0

    def set_follower_position(self, name: str, event_id: int) -> None:
        with self.engine.begin() as db:
            updated = db.execute(follower_state.update().where(follower_state.c.name == name).values(last_event_id=event_id))
            if updated.rowcount == 0:
                db.execute(follower_state.insert().values(name=name, last_event_id=event_id))


    # ---- agents' passwords and signed-in browser sessions (hashing lives in console/auth.py) --
    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Store an agent's password hash; every browser session they had ends."""
        with self.engine.begin() as db:
            if db.execute(sa.select(agents.c.name).where(agents.c.name == name)).first() is None:
                raise NotFound(f"no agent {name}: create it first (python -m console create-agent {name})")
            db.execute(agent_passwords.delete().where(agent_passwords.c.name == name))
            db.execute(agent_passwords.insert().values(name=name, password_hash=password_hash, updated_at=_now()))
            db.execute(web_sessions.delete().where(web_sessions.c.agent == name))

    def password_hash(self, name: str) -> Optional[str]:
        with self.engine.connect() as db:
            return db.execute(
                sa.select(agent_passwords.c.password_hash).join(agents, agents.c.name == agent_passwords.c.name)
                .where(agent_passwords.c.name == name)
            ).scalar()

    def start_web_session(self, agent: str, lifetime: timedelta) -> Dict[str, str]:
        """A new browser session: the cookie token (shown once) and its CSRF token."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as db:
            db.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
            db.execute(web_sessions.insert().values(
                token_hash=_hash_token(token), agent=agent, csrf_token=csrf, created_at=now, expires_at=now + lifetime,
            ))
        return {"token": token, "csrf": csrf, "agent": agent}

    def web_session(self, token: Optional[str]) -> Optional[Dict[str, Any]]:
        if not token:
            return None
        with self.engine.connect() as db:
            row = db.execute(sa.select(web_sessions).where(web_sessions.c.token_hash == _hash_token(token))).first()
        if row is None or row.expires_at < datetime.now():
            return None
        return {"agent": row.agent, "csrf": row.csrf_token, "expires_at": row.expires_at.isoformat()}

    def end_web_session(self, token: Optional[str]) -> None:
        if token:
            with self.engine.begin() as db:
                db.execute(web_sessions.delete().where(web_sessions.c.token_hash == _hash_token(token)))

    # ---- claims: who is answering a case ----------------------------------------------------
    def claim_case(self, case_id: str, agent: str, takeover: bool = False) -> Dict[str, Any]:
        """Claim an open case for `agent`. Someone else's claim stands unless `takeover`."""
        with self.engine.begin() as db:
            case = self._require(db, case_id, state=OPEN)
            if case.claimed_by == agent:
                return {"case_id": case_id, "claimed_by": agent, "previous": agent, "changed": False}
            if case.claimed_by and not takeover:
                raise Claimed(f"case {case_id} is being answered by {case.claimed_by}; take it over explicitly", case.claimed_by)
            # Compare-and-set: of two agents claiming at once, one wins and the other sees the claim.
            updated = db.execute(cases.update().where(cases.c.id == case_id, _same_claim(case.claimed_by)).values(claimed_by=agent))
            if updated.rowcount != 1:
                holder = db.execute(sa.select(cases.c.claimed_by).where(cases.c.id == case_id)).scalar()
                raise Claimed(f"case {case_id} was just claimed by {holder}", holder or "")
            db.execute(claim_log.insert().values(
                case_id=case_id, agent=agent, previous=case.claimed_by, kind="takeover" if case.claimed_by else "claim", at=_now(),
            ))
        return {"case_id": case_id, "claimed_by": agent, "previous": case.claimed_by, "changed": True}

    def claimed_by(self, case_id: str) -> Optional[str]:
        with self.engine.connect() as db:
            return self._require(db, case_id).claimed_by

    def release_claim(self, case_id: str, agent: str) -> bool:
        """Give a case back to the queue; only its holder can."""
        with self.engine.begin() as db:
            self._require(db, case_id)
            updated = db.execute(cases.update().where(cases.c.id == case_id, cases.c.claimed_by == agent).values(claimed_by=None))
            if updated.rowcount:
                db.execute(claim_log.insert().values(case_id=case_id, agent=None, previous=agent, kind="release", at=_now()))
            return bool(updated.rowcount)

    # ---- an agent corrects the detected concern (input to the bot builders' loop) ------------
    def correct_concern(self, case_id: str, agent: str, concern: str) -> Dict[str, Any]:
        with self.engine.begin() as db:
            case = self._require(db, case_id)
            detected = json.loads(case.concerns or "[]")
            last = db.execute(
                sa.select(messages.c.text).where(messages.c.case_id == case_id, messages.c.sender == "customer")
                .order_by(messages.c.id.desc()).limit(1)
            ).scalar()
            correction_id = db.execute(concern_corrections.insert().values(
                case_id=case_id, agent=agent, detected_intent=case.intent,
                detected_concerns=json.dumps(detected, ensure_ascii=False), corrected=concern, customer_text=last, at=_now(),
            )).inserted_primary_key[0]
            db.execute(cases.update().where(cases.c.id == case_id).values(
                intent=concern, concerns=json.dumps([concern] + [c for c in detected if c != concern], ensure_ascii=False),
            ))
            row = db.execute(sa.select(concern_corrections).where(concern_corrections.c.id == correction_id)).one()
        return _correction(row)

    def corrections(self, limit: int = 500) -> List[Dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(concern_corrections).order_by(concern_corrections.c.id.desc()).limit(limit)).all()
        return [_correction(r) for r in rows]

    # ---- the customer's satisfaction rating, once per resolved case --------------------------
    def rate_case(self, conversation_id: str, case_id: str, score: int) -> Dict[str, Any]:
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise ValueError("score must be an integer from 1 to 5")
        now = _now()
        with self.engine.begin() as db:
            case = self._require(db, case_id)
            if case.conversation_id != conversation_id:
                raise NotFound(f"no case {case_id} in this conversation")
            if case.state != RESOLVED:
                raise WrongState(f"case {case_id} is {case.state}; only resolved cases are rated")
            try:
                with db.begin_nested():
                    db.execute(ratings.insert().values(case_id=case_id, conversation_id=conversation_id, score=score, at=now))
            except IntegrityError:
                raise AlreadyHandled(f"case {case_id} was already rated") from None
            db.execute(cases.update().where(cases.c.id == case_id).values(rating=score))
        return {"case_id": case_id, "score": score, "at": now.isoformat()}

    def latest_case_for(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The conversation's most recent case (open or closed), with its agents' texts."""
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(cases).where(cases.c.conversation_id == conversation_id).order_by(cases.c.opened_at.desc(), cases.c.id).limit(1)
            ).first()
            if row is None:
                return None
            case = _row(row)
            case["agent_texts"] = list(db.execute(
                sa.select(messages.c.text).where(messages.c.case_id == row.id, messages.c.sender == "agent").order_by(messages.c.id)
            ).scalars())
        return case

    # ---- what the shop's page told us about a web-chat customer ------------------------------
    def set_chat_context(self, conversation_id: str, context: Dict[str, str], verified: bool = False) -> None:
        with self.engine.begin() as db:
            db.execute(chat_contexts.delete().where(chat_contexts.c.conversation_id == conversation_id))
            db.execute(chat_contexts.insert().values(
                conversation_id=conversation_id, context=json.dumps(context, ensure_ascii=False), verified=verified, updated_at=_now(),
            ))

    def chat_context(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as db:
            row = db.execute(sa.select(chat_contexts).where(chat_contexts.c.conversation_id == conversation_id)).first()
        if row is None:
            return None
        return {"context": json.loads(row.context), "verified": bool(row.verified), "updated_at": row.updated_at.isoformat()}


def _same_claim(holder: Optional[str]):
    return cases.c.claimed_by.is_(None) if holder is None else cases.c.claimed_by == holder


def _correction(row) -> Dict[str, Any]:
    data = _row(row)
    data["detected_concerns"] = json.loads(data["detected_concerns"] or "[]")
    return data


def _learning_record(case, record, draft_rows, decision) -> Dict[str, Any]:
    made_of = {d["rank"]: d for d in json.loads(record.drafts)} if record is not None else {}
    situation = json.loads(case.situation or "{}")
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
                  "findings_overridden": bool(decision.findings_overridden),
                  "created_at": decision.created_at.isoformat() if isinstance(decision.created_at, datetime) else decision.created_at}
    return {
        "case_id": case.id, "batch": record.batch if record is not None else (draft_rows[0].batch if draft_rows else decision.batch),
        "topic": (record.topic if record is not None else None) or situation.get("topic") or case.intent,
        "temperament": (record.temperament if record is not None else None) or situation.get("temperament") or case.temperament,
        "mood": (record.mood if record is not None else None) or case.mood,
        "intent": (record.intent if record is not None else None) or case.intent,
        "confidence": record.confidence if record is not None else None,
        "customer_text": record.customer_text if record is not None else None,
        "versions": json.loads(record.versions) if record is not None else json.loads(case.versions or "{}"),
        "drafts": shown,
        "decision": chosen,
    }

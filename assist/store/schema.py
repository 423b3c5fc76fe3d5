"""The suggestion store's tables: one SQLAlchemy Core schema for SQLite and PostgreSQL.

This module is the model; assist/store/migrations/ is how a database gets there
(tests/unit/test_store_migrations.py checks the two agree). Change a table here, then add a
migration: `python -m assist.store revision -m "what changed"` writes its skeleton.

The states, `metadata` and `UtcDateTime` are assist/store/base.py; the tables the Rasa servers'
channels keep (WeChat's once-only keys and token, the callback client's kept messages) are
assist/store/channel_tables.py, imported here so this module holds the whole schema.
"""
from __future__ import annotations

import sqlalchemy as sa

from .base import (ABANDONED, AGENT, CANCELLED, DELIVERED, FAILED, HANDOVERS, OPEN, PENDING, RESOLVED, ROLES,  # noqa: F401
                   SUPERVISOR, UtcDateTime, metadata)
from .channel_tables import callback_posts, wechat_messages, wechat_tokens  # noqa: F401 (one schema to migrate)


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
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("last_customer_at", UtcDateTime),
    sa.Column("first_response_at", UtcDateTime),
    sa.Column("resolved_at", UtcDateTime),
    sa.Column("wait_updates", sa.Integer, nullable=False, default=0),
    sa.Column("created_by", sa.String(32), nullable=False, default="action"),
    sa.Column("rating", sa.Integer),
    sa.Column("versions", sa.Text, nullable=False, default="{}"),
    # The conversation state (assist/cases/state.py) as JSON: what the whole conversation says.
    sa.Column("conversation", sa.Text, nullable=False, default="{}", server_default="{}"),
    # The customer's message keys before the opening one (JSON list): never follow-ups of this case.
    # NULL: not known (the follower opened the case, or it is older than this column).
    sa.Column("earlier_keys", sa.Text, nullable=True),
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
    sa.Column("at", UtcDateTime, nullable=False),
    # The source event (Rasa event broker row or message id): the same message never joins twice.
    sa.Column("source_key", sa.String(128)),
    sa.Column("image_id", sa.String(64)),  # a photo the customer sent (kefu_images); the text is its stand-in [图片]
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
    sa.Column("created_at", UtcDateTime, nullable=False),
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
    # An edit sent anyway after the customer wrote again: the batch the agent was answering.
    sa.Column("written_for_batch", sa.Integer),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # One decision per batch of drafts: the second agent gets "already handled".
    sa.UniqueConstraint("case_id", "batch", name="kefu_one_decision_per_batch"),
    # A retried request (same key) returns the first decision — on the same case only.
    sa.UniqueConstraint("case_id", "idempotency_key", name="kefu_one_decision_per_key"),
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
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("delivered_at", UtcDateTime),
)

agents = sa.Table(
    "kefu_agents", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("role", sa.String(16), nullable=False, default=AGENT, server_default=AGENT),
)

follower_state = sa.Table(
    "kefu_follower", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_event_id", sa.Integer, nullable=False, default=0),
)

# The consoles that follow Rasa's event stream, each beating here every few seconds; the live ones
# share the stream's conversations between them (console/workers/shares.py).
follower_members = sa.Table(
    "kefu_follower_members", metadata,
    sa.Column("holder", sa.String(64), primary_key=True),
    sa.Column("seen_at", UtcDateTime, nullable=False),
)

# What the learning loop reads: one row per batch of drafts (assist/drafting/acceptance.py) — which plan and
# template pieces each draft was made of, the NLU reading and the model and template versions.
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
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("case_id", "batch", name="kefu_one_record_per_batch"),
)

agent_passwords = sa.Table(
    "kefu_agent_passwords", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),  # Argon2id, hashed by console/routes/auth.py
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

web_sessions = sa.Table(
    "kefu_web_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # the cookie's value is never stored
    sa.Column("agent", sa.String(64), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

claim_log = sa.Table(
    "kefu_claims", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), nullable=False, index=True),
    sa.Column("agent", sa.String(64)),  # who holds the case after this; None: back in the shared queue
    sa.Column("previous", sa.String(64)),
    sa.Column("kind", sa.String(16), nullable=False),  # claim | takeover | release | transfer | reassign
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("by_agent", sa.String(64)),  # who did it (the supervisor, for a reassign)
    sa.Column("note", sa.Text),            # what the receiver should know
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
    sa.Column("at", UtcDateTime, nullable=False),
)

ratings = sa.Table(
    "kefu_ratings", metadata,
    sa.Column("case_id", sa.String(36), sa.ForeignKey("kefu_cases.id"), primary_key=True),  # once per case
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

chat_contexts = sa.Table(
    "kefu_chat_contexts", metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("context", sa.Text, nullable=False, default="{}"),  # order_id, customer_id from the shop's page
    sa.Column("verified", sa.Boolean, nullable=False, default=False),  # signed by the shop's server
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Events the follower could not handle after KEFU_FOLLOWER_MAX_TRIES tries (a bug or bad data, never a
# store outage, which is waited out): kept whole so a person can see what was missed and replay it.
dead_letters = sa.Table(
    "kefu_dead_letters", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("follower", sa.String(64), nullable=False),
    sa.Column("event_id", sa.Integer, nullable=False),  # the row id in Rasa's event broker table
    sa.Column("conversation_id", sa.String(255)),
    sa.Column("event", sa.Text, nullable=False),  # the event as Rasa published it
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("tries", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime),  # a person replayed or dismissed it
    sa.UniqueConstraint("follower", "event_id", name="kefu_dead_letter_once"),
)

# Photos customers send (console/images.py): re-encoded without EXIF, the file in data_dir/images named by
# the id (random, unguessable); a customer fetches only their own conversation's, an agent behind their session.
images = sa.Table(
    "kefu_images", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("content_type", sa.String(32), nullable=False),  # sniffed from the bytes, never the name
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),  # bytes as stored
    sa.Column("at", UtcDateTime, nullable=False, index=True),
)

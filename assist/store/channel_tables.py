"""The tables the Rasa servers' channels keep in the suggestion store (kefu_rasa/wechat.py,
kefu_rasa/callback_retry.py), shared by every Rasa instance. Part of the one schema
(assist/store/schema.py imports them; assist/store/migrations builds them).
"""
from __future__ import annotations

import sqlalchemy as sa

from .base import PENDING, UtcDateTime, metadata

# WeChat Official Account (kefu_rasa/wechat.py). Every message WeChat pushed, by its MsgId (events: sender +
# CreateTime + event), and every delivery id sent through the customer-service API: WeChat retries a message
# it got no answer for within 5 s, and a retry may reach another Rasa instance — a key recorded here
# is never handed to Rasa (or sent to the customer) twice. No text and nothing else about the customer.
wechat_messages = sa.Table(
    "kefu_wechat_messages", metadata,
    sa.Column("key", sa.String(160), primary_key=True),  # m:<MsgId>, e:<OpenID>:<CreateTime>:<event>, out:d<n>
    sa.Column("at", UtcDateTime, nullable=False, index=True),
)

# Bot messages of a customer's turn that the callback client did not take (kefu_rasa/callback_retry.py):
# the Rasa server that made the turn retries each in memory; a row left here after that (the server was
# killed, or the client stayed away) is posted again by whichever Rasa server sweeps first. Taken → deleted.
callback_posts = sa.Table(
    "kefu_callback_posts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("message", sa.Text, nullable=False),  # the JSON body posted, with its id: the client drops a repeat
    sa.Column("state", sa.String(16), nullable=False, default=PENDING),  # pending | failed (given up)
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# The Official Account's API access token, shared by every Rasa instance: WeChat invalidates the old token a
# few minutes after anyone fetches a new one, so instances that each fetched their own would keep
# invalidating each other's. One instance refreshes at a time (refreshing_until is its lease).
wechat_tokens = sa.Table(
    "kefu_wechat_tokens", metadata,
    sa.Column("app_id", sa.String(64), primary_key=True),
    sa.Column("access_token", sa.Text),
    sa.Column("expires_at", UtcDateTime),
    sa.Column("refreshing_until", UtcDateTime),
)

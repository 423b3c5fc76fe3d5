"""Retention and erasure of customers' data (PIPL), the operator's commands:

    python -m console purge [--days N] [--dry-run]        # what is older than KEFU_RETENTION_DAYS
    python -m console erase CONVERSATION_ID… [--dry-run]  # one customer's data, on request
    python -m console erase --containing 13800138000       # find their conversations by a phone/order no.

Both clean every place kefu keeps a customer's words: the suggestion store (cases, messages, drafts,
decisions, deliveries, learning records, chat context, dead letters, photos and their files), Rasa's tracker store
(KEFU_TRACKER_URL) and Rasa's event stream (KEFU_EVENTS_URL). Logs carry no customer's words or
personal data (assist/logs.py masks them) and rotate away (KEFU_LOG_MAX_MB × KEFU_LOG_BACKUPS).
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Dict, List, Optional, Sequence

from assist.settings import Settings
from assist.store import SuggestionStore, rasa_tables
from assist.store.db import now
from assist.store.privacy import Privacy


def _rasa(settings: Settings) -> Dict[str, object]:
    return {"tracker store": rasa_tables.open_rasa_table(settings.tracker_url),
            "event stream": rasa_tables.open_rasa_table(settings.events_url)}


def _forget_in_rasa(engines: Dict[str, object], conversations: Sequence[str], dry_run: bool) -> Dict[str, int]:
    if dry_run:
        return rasa_tables.counts(engines, conversations)
    return {name: rasa_tables.forget(engine, conversations) for name, engine in engines.items() if engine is not None}


def _close(engines: Dict[str, object]) -> None:
    for engine in engines.values():
        if engine is not None:
            engine.dispose()


def purge(settings: Settings, store: SuggestionStore, days: Optional[int] = None, dry_run: bool = False) -> Dict[str, object]:
    """Delete conversations idle for `days` (KEFU_RETENTION_DAYS) and closed cases last active before
    then. Open cases stay (a person owes an answer); a conversation with an open case stays whole."""
    days = days or settings.retention_days
    cutoff = now() - timedelta(days=days)
    privacy = Privacy(store.engine)
    engines = _rasa(settings)
    try:
        idle: List[str] = []
        if engines["tracker store"] is not None:
            idle = rasa_tables.idle_conversations(engines["tracker store"], time.time() - days * 86400)
        still_open = set(privacy.open_conversations(idle))
        conversations = [c for c in idle if c not in still_open]
        expired = privacy.expired(cutoff)
        gone_with_conversations = set(privacy.cases_of(conversations))
        expired = [case for case in expired if case not in gone_with_conversations]
        report: Dict[str, object] = {
            "days": days, "cutoff": cutoff.isoformat(), "dry_run": dry_run,
            "conversations": len(conversations), "cases": len(expired) + len(gone_with_conversations),
            "kept_open_cases": privacy.open_before(cutoff),
        }
        if dry_run:
            report["rows"] = _forget_in_rasa(engines, conversations, True)
            report["rows"]["kefu_images"] = len(set(store.images.of_conversations(conversations))) + store.images.count_before(cutoff)
        else:
            # Idle conversations go whole (their closed cases, the shop's context, dead letters), then
            # the closed cases left that are old in a conversation that went on.
            rows = privacy.forget_conversations(conversations)
            for table, gone in privacy.forget_cases(expired).items():
                rows[table] = rows.get(table, 0) + gone
            rows.update(_forget_in_rasa(engines, conversations, False))
            # Photos (rows and files): those of the idle conversations, and any older than the cutoff.
            rows["kefu_images"] = store.images.forget_conversations(conversations) + store.images.forget_before(cutoff)
            report["rows"] = rows
        if engines["tracker store"] is None:
            report["note"] = f"no Rasa tracker store at KEFU_TRACKER_URL ({settings.tracker_url}): conversations there untouched"
        return report
    finally:
        _close(engines)


def find(settings: Settings, store: SuggestionStore, text: str) -> List[str]:
    """Conversations whose kept words contain `text`, in the suggestion store or Rasa's tables."""
    found = set(Privacy(store.engine).conversations_containing(text))
    engines = _rasa(settings)
    try:
        for engine in engines.values():
            if engine is not None:
                found.update(rasa_tables.containing(engine, text))
    finally:
        _close(engines)
    return sorted(found)


def erase(settings: Settings, store: SuggestionStore, conversations: Sequence[str], dry_run: bool = False) -> Dict[str, object]:
    """Everything kept about these conversations, open cases included (the customer asked)."""
    privacy = Privacy(store.engine)
    engines = _rasa(settings)
    try:
        report: Dict[str, object] = {"conversations": list(conversations), "dry_run": dry_run,
                                     "cases": len(privacy.cases_of(conversations))}
        if dry_run:
            report["rows"] = _forget_in_rasa(engines, conversations, True)
            report["rows"]["kefu_images"] = len(store.images.of_conversations(conversations))
        else:
            rows = privacy.forget_conversations(conversations)
            rows.update(_forget_in_rasa(engines, conversations, False))
            rows["kefu_images"] = store.images.forget_conversations(list(conversations))  # rows and files
            report["rows"] = rows
        return report
    finally:
        _close(engines)

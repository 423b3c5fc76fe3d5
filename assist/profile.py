"""KEFU_PROFILE=production: what the settings mean for Rasa's own configuration.

Rasa reads its stores from an endpoints file. The production one, deploy/production/endpoints.yml,
holds no value at all: every entry is `${VARIABLE}`, which Rasa fills from its environment when it
reads the file. `rasa_environment()` gives those variables from kefu's settings, and kefu's Rasa
entry (kefu_rasa/rasa_server.py) puts them into its own environment before Rasa starts. So one
switch and two URLs (KEFU_POSTGRES_URL, KEFU_REDIS_URL) configure every process alike, and the
secrets stay in the environment: in no file, on no command line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict
from urllib.parse import unquote, urlsplit

from assist.settings import PRODUCTION, ROOT, Settings

PRODUCTION_ENDPOINTS = ROOT / "deploy" / "production" / "endpoints.yml"


def is_production(settings: Settings) -> bool:
    return settings.profile == PRODUCTION


def redis_parts(url: str) -> Dict[str, str]:
    """redis://[:password@]host[:port][/db] as Rasa's lock store takes it (host, port, db, password)."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1", "port": str(parts.port or 6379),
        "db": (parts.path or "/0").strip("/") or "0", "password": unquote(parts.password or ""),
    }


def rasa_environment(settings: Settings) -> Dict[str, str]:
    """The variables deploy/production/endpoints.yml names, and Rasa's own pool sizes.

    Rasa's SQL tracker store and SQL event broker take a whole SQLAlchemy URL as their `url`
    (rasa/core/tracker_store.py SQLTrackerStore.get_db_url). Rasa's tracker store pool defaults to
    50 + 100 connections per process (SQL_POOL_SIZE / SQL_MAX_OVERFLOW): set from kefu's, so several
    instances fit PostgreSQL's default of 100 connections."""
    redis = redis_parts(settings.redis_url)
    return {
        "KEFU_ACTION_ENDPOINT": settings.action_endpoint,
        "KEFU_TRACKER_URL": settings.tracker_url,
        "KEFU_EVENTS_URL": settings.events_url,
        "KEFU_REDIS_HOST": redis["host"], "KEFU_REDIS_PORT": redis["port"], "KEFU_REDIS_DB": redis["db"],
        "KEFU_REDIS_PASSWORD": redis["password"],
        "SQL_POOL_SIZE": str(settings.sql_pool_size), "SQL_MAX_OVERFLOW": str(settings.sql_max_overflow),
    }


def endpoints_file(settings: Settings, given: str = "") -> Path:
    """The endpoints file Rasa reads: the one given, else the profile's."""
    if given:
        return Path(given)
    return PRODUCTION_ENDPOINTS if is_production(settings) else ROOT / "endpoints.yml"

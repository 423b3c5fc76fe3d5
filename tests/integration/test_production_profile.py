"""KEFU_PROFILE=production: one switch and two URLs put every store on PostgreSQL and the locks on
Redis — Rasa's from the shipped deploy/production/endpoints.yml, kefu's from the same settings."""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
import requests
import sqlalchemy as sa

from kefu_rasa.dev.production import profile_env
from kefu_rasa.dev.servers import ROOT, free_port, start_stack

pytestmark = pytest.mark.slow


def production_env(postgres, redis, tmp_path, **databases):
    return profile_env(postgres, redis, tmp_path, **databases)


def redis_sets(port: int) -> int:
    import redis as redis_client

    stats = redis_client.Redis(port=port).info("commandstats")
    return int(stats.get("cmdstat_set", {}).get("calls", 0))


def test_one_switch_runs_the_product_on_postgresql_and_redis(trained_model, postgres, redis, tmp_path):
    env = production_env(postgres, redis, tmp_path)
    locks_before = redis_sets(redis)
    stack = start_stack(trained_model, tmp_path / "stack", data_dir=tmp_path / "data", rasa_port=free_port(),
                        actions_port=free_port(), console_port=free_port(), extra_env=env)
    try:
        rasa_command = stack.commands["rasa"]
        assert str(ROOT / "deploy" / "production" / "endpoints.yml") in rasa_command  # the shipped file, as is
        assert not any(word in " ".join(rasa_command) for word in (postgres["url"], env["KEFU_RASA_JWT_SECRET"]))
        sender = f"prod-{uuid.uuid4()}"

        def say(text):
            r = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
            assert r.status_code == 200
            return [m.get("text", "") for m in r.json()]

        assert any("您好" in t for t in say("你好"))
        assert say("东西寄来就是坏的，我要投诉")  # the holding message: a case for a person
        assert redis_sets(redis) > locks_before  # Rasa's lock store is Redis: each turn took its lock there

        databases = {name: sa.create_engine(f"{postgres['url']}/{name}") for name in ("kefu_tracker", "kefu_events", "kefu_suggestions")}
        try:
            with databases["kefu_tracker"].connect() as db:
                assert db.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar() > 0
            with databases["kefu_events"].connect() as db:
                assert db.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar() > 0
            deadline = time.monotonic() + 20
            case = None
            while time.monotonic() < deadline and case is None:
                with databases["kefu_suggestions"].connect() as db:
                    case = db.execute(sa.text("SELECT id, intent FROM kefu_cases WHERE conversation_id = :s"), {"s": sender}).first()
                time.sleep(0.2)
            assert case is not None and case.intent == "complaint"
        finally:
            for engine in databases.values():
                engine.dispose()
        assert not (tmp_path / "data" / "suggestions.db").exists() and not (tmp_path / "data" / "tracker.db").exists()
        assert not (tmp_path / "data" / "rasa_jwt_secret").exists()  # the secret came from the environment only
    finally:
        stack.stop()


def test_migrate_creates_the_production_databases_once(postgres, redis, tmp_path):
    """Three instances' migrate steps started together: each database is created once, the schema
    is migrated once, and all three finish well."""
    name = f"kefu_{uuid.uuid4().hex[:8]}"
    env = dict(production_env(postgres, redis, tmp_path, store=f"{name}_suggestions", events=f"{name}_events",
                              tracker=f"{name}_tracker"), PYTHONPATH=str(ROOT))
    import os

    runs = [subprocess.Popen([sys.executable, "-m", "console", "migrate"], cwd=ROOT, env=dict(os.environ, **env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    said = "".join(out for out, _ in outputs)
    for suffix in ("suggestions", "events", "tracker"):
        assert said.count(f"created database {name}_{suffix}") == 1
    engine = sa.create_engine(env["KEFU_STORE_URL"])
    try:
        with engine.connect() as db:
            assert db.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_the_production_profile_without_its_services_stops_with_a_clear_line(tmp_path):
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT), KEFU_PROFILE="production", KEFU_DATA_DIR=str(tmp_path))
    for name in ("KEFU_POSTGRES_URL", "KEFU_REDIS_URL", "KEFU_RASA_JWT_SECRET", "KEFU_STORE_URL"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-m", "console", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "KEFU_POSTGRES_URL: is required with KEFU_PROFILE=production" in result.stderr
    assert "KEFU_REDIS_URL: is required with KEFU_PROFILE=production" in result.stderr

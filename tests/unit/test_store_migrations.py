"""The suggestion store's schema comes from Alembic migrations, one migrate step builds or upgrades
it, a database made before migrations keeps every row, and the servers refuse a schema behind."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from assist.store import SchemaBehind, StoreError, SuggestionStore, upgrade
from assist.store.migrate import head_revision
from assist.store.schema import metadata

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "tests" / "fixtures" / "legacy_store.sql"
TABLES = ["kefu_cases", "kefu_messages", "kefu_drafts", "kefu_decisions", "kefu_deliveries", "kefu_agents",
          "kefu_agent_passwords", "kefu_web_sessions", "kefu_claims", "kefu_concern_corrections", "kefu_ratings",
          "kefu_chat_contexts", "kefu_follower", "kefu_batches"]


def legacy_db(path: Path) -> str:
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY.read_text(encoding="utf-8"))
    return f"sqlite:///{path}"


def counts(url: str):
    engine = sa.create_engine(url)
    with engine.connect() as db:
        found = {t: db.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
    engine.dispose()
    return found


def differences(url: str):
    engine = sa.create_engine(url)
    with engine.connect() as db:
        found = compare_metadata(MigrationContext.configure(db, opts={"compare_type": True}), metadata)
    engine.dispose()
    return found


def test_upgrade_builds_the_whole_schema_on_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert upgrade(url) == head_revision()
    assert differences(url) == []  # the models and the migrations agree
    assert upgrade(url) == head_revision()  # a second run finds nothing to do
    SuggestionStore(url)


def test_a_schema_behind_is_refused_naming_the_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(SchemaBehind, match="no schema yet: run `python -m console migrate`"):
        SuggestionStore(url)
    upgrade(url, "0001_baseline")
    with pytest.raises(SchemaBehind, match=r"at revision 0001_baseline, the code needs .*python -m console migrate"):
        SuggestionStore(url)


def test_a_database_made_before_migrations_keeps_every_row(tmp_path):
    url = legacy_db(tmp_path / "legacy.db")
    before = counts(url)
    assert upgrade(url) == head_revision()
    after = counts(url)
    # Every row kept; the one batch from before batch records existed got its record.
    assert after == dict(before, kefu_batches=before["kefu_batches"] + 1)
    assert differences(url) == []

    store = SuggestionStore(url)
    late = store.cases.latest_case_for("conv-late")
    case = store.cases.get_case(late["id"])
    assert [m["text"] for m in case["messages"] if m["sender"] == "customer"] == ["快递一周了还没到", "还没到！！"]
    assert case["claimed_by"] == "小王" and case["concerns"][0] == "complaint"
    assert [d["state"] for d in case["deliveries"]] == ["delivered", "pending"]
    assert [d["action"] for d in case["decisions"]] == ["approve"]
    assert case["opened_at"].endswith("+00:00")  # times come back timezone-aware
    price = store.cases.latest_case_for("conv-price")
    assert price["state"] == "resolved" and price["rating"] == 5
    assert store.customers.chat_context("conv-late")["context"] == {"order_id": "2023110188"}
    assert store.follower.position("console") == 42
    assert store.agents.password_hash("小王").startswith("$argon2id$")
    assert [c["corrected"] for c in store.learning.corrections()] == ["complaint"]

    records = store.learning.learning_records(decided_only=False)
    assert len(records) == 3
    oldest = next(r for r in records if r["case_id"] == late["id"] and r["batch"] == 1)
    assert oldest["topic"] == "delivery_delay" and oldest["versions"] == {"model": "kefu-1", "templates": "t-1"}
    assert oldest["drafts"][0]["pieces"] == ["delivery_delay.ack.1"]
    decided = store.learning.learning_records()
    assert {(r["decision"]["agent"], r["decision"]["action"]) for r in decided} == {("小王", "approve"), ("小李", "edit")}

    # The migrated store works as a new one does.
    joined = store.cases.open_case("conv-late", {"concerns": ["complaint"]}, [], "人呢", source_key="msg:m9")
    assert joined["id"] == late["id"] and joined["batch"] == 3
    assert store.decisions.decide(late["id"], "小王", "reject", reason="再查一下")["batch"] == 3


def test_naive_local_times_move_to_utc(tmp_path, monkeypatch):
    """Stored naive times were the server's local clock; the migration moves them by its offset."""
    url = legacy_db(tmp_path / "legacy.db")
    engine = sa.create_engine(url)
    with engine.connect() as db:
        raw = db.execute(sa.text("SELECT opened_at FROM kefu_cases WHERE conversation_id = 'conv-late'")).scalar()
    engine.dispose()
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        upgrade(url)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    case = SuggestionStore(url).cases.latest_case_for("conv-late")
    from datetime import datetime

    assert datetime.fromisoformat(case["opened_at"]) == datetime.fromisoformat(raw).replace(tzinfo=timezone.utc) - timedelta(hours=8)


def test_a_database_that_is_not_the_baseline_is_not_stamped(tmp_path):
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE kefu_cases (id VARCHAR(36) PRIMARY KEY)")
    with pytest.raises(StoreError, match="not the baseline schema .*kefu_cases lacks"):
        upgrade(f"sqlite:///{path}")


def _python(*args, env_extra=None, tmp_path=None):
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_two_migrate_steps_started_together_do_not_race(tmp_path):
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT), KEFU_STORE_URL=f"sqlite:///{tmp_path / 'race.db'}")
    procs = [subprocess.Popen([sys.executable, "-m", "console", "migrate"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert all(code == 0 for _, _, code in results), results
    assert all(head_revision() in out for out, _, _ in results)
    SuggestionStore(f"sqlite:///{tmp_path / 'race.db'}")


@pytest.mark.parametrize("command", [
    ["-m", "console", "serve", "--port", "1"],
    ["-m", "kefu_rasa.action_server", "--actions", "actions", "--port", "1"],
])
def test_the_servers_refuse_to_start_on_a_schema_behind(tmp_path, command):
    result = _python(*command, env_extra={"KEFU_STORE_URL": f"sqlite:///{tmp_path / 'behind.db'}"})
    assert result.returncode == 2, result.stderr
    assert "python -m console migrate" in result.stderr


@pytest.mark.slow
def test_postgresql_gets_the_same_schema_and_keeps_a_baseline_database(postgres):
    url = f"{postgres['url']}/migrations"
    engine = sa.create_engine(url)
    with engine.begin() as db:
        db.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    assert upgrade(url) == head_revision()
    assert differences(url) == []
    store = SuggestionStore(url)
    opened = store.cases.open_case("pg-1", {"concerns": ["complaint"]}, [{"text": "您好，我来帮您看看，您看可以吗？"}], "坏了")
    assert store.cases.get_case(opened["id"])["opened_at"].endswith("+00:00")

    # A database made before migrations (baseline tables, no version table) is stamped, then upgraded.
    with engine.begin() as db:
        db.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(url, "0001_baseline")
    with engine.begin() as db:
        db.execute(sa.text("INSERT INTO kefu_cases (id, conversation_id, channel, state, concerns, urgency, situation, batch, "
                           "opened_at, wait_updates, created_by, versions) VALUES ('c-old', 'conv-old', 'rest', 'open', '[]', 0, "
                           "'{}', 0, '2026-11-01 10:00:00', 0, 'action', '{}')"))
        db.execute(sa.text("DROP TABLE alembic_version"))
    assert upgrade(url) == head_revision()
    assert differences(url) == []
    old = SuggestionStore(url).cases.get_case("c-old")
    assert old["conversation_id"] == "conv-old" and old["opened_at"].endswith("+00:00")
    engine.dispose()


def test_0007_scopes_idempotency_keys_to_their_case_and_keeps_every_decision(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    upgrade(url, "0006_dead_letters")
    engine = sa.create_engine(url)
    insert_case = ("INSERT INTO kefu_cases (id, conversation_id, channel, state, concerns, urgency, situation, batch, opened_at, "
                   "wait_updates, created_by, versions, conversation) VALUES (:id, :id, 'rest', 'open', '[]', 0, '{}', 1, "
                   "'2026-11-01 10:00:00', 0, 'action', '{}', '{}')")
    insert_decision = ("INSERT INTO kefu_decisions (case_id, batch, agent, action, idempotency_key, findings_overridden, resolve, "
                       "created_at) VALUES (:case, 1, 'a', 'reject', :key, 0, 0, '2026-11-01 10:00:00')")
    with engine.begin() as db:
        for case in ("c1", "c2"):
            db.execute(sa.text(insert_case), {"id": case})
        db.execute(sa.text(insert_decision), {"case": "c1", "key": "k1"})
        with pytest.raises(sa.exc.IntegrityError):  # before: one key in the whole store
            with db.begin_nested():
                db.execute(sa.text(insert_decision), {"case": "c2", "key": "k1"})
    upgrade(url)
    assert differences(url) == []
    with engine.begin() as db:
        db.execute(sa.text(insert_decision), {"case": "c2", "key": "k1"})  # after: per case
        with pytest.raises(sa.exc.IntegrityError):
            with db.begin_nested():
                db.execute(sa.text(insert_decision.replace(":case, 1", ":case, 2")), {"case": "c2", "key": "k1"})
        assert db.execute(sa.text("SELECT count(*) FROM kefu_decisions")).scalar() == 2
    engine.dispose()

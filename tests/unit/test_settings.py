"""One configuration module reads every KEFU_*/RASA_* variable, validated once, with errors that name
the variable; nothing else reads the environment."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from assist.settings import Settings, SettingsError, env_name, load_settings, settings_from

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_run_everything_from_the_data_dir(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    assert settings.store_url == f"sqlite:///{tmp_path / 'suggestions.db'}"
    assert settings.events_url == f"sqlite:///{tmp_path / 'events.db'}"
    assert settings.orders_url == f"sqlite:///{tmp_path / 'orders.db'}"
    assert (settings.rasa_port, settings.actions_port, settings.console_port) == (5005, 5055, 8000)
    assert settings.console_host == "127.0.0.1" and settings.follow_events and settings.learning


def test_rasa_s_jwt_secret_is_made_once_and_kept_private(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    secret = settings.rasa_api_secret()
    assert secret == settings.rasa_api_secret() and len(secret) >= 32
    assert (tmp_path / "data" / "rasa_jwt_secret").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    given = "g" * 32
    assert load_settings(data_dir=tmp_path, rasa_jwt_secret=given).rasa_api_secret() == given


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    """Rasa and the console start at once under systemd; the first to write the file wins."""
    code = ("import sys; from assist.settings import load_settings; "
            f"print(load_settings(data_dir={str(tmp_path)!r}).rasa_api_secret())")
    starts = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(6)]
    secrets = {proc.communicate(timeout=60)[0].strip() for proc in starts}
    assert len(secrets) == 1 and secrets == {(tmp_path / "rasa_jwt_secret").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["rasa_jwt_secret"]  # no drafts left behind


def test_a_short_secret_and_the_retired_token_stop_the_process(monkeypatch):
    monkeypatch.setenv("KEFU_RASA_JWT_SECRET", "short")
    monkeypatch.setenv("RASA_TOKEN", "an-old-token")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "KEFU_RASA_JWT_SECRET: must be at least 32 characters" in str(error.value)
    assert "RASA_TOKEN: is no longer used" in str(error.value)
    assert "short" not in str(error.value) and "an-old-token" not in str(error.value)  # secrets are not echoed


@pytest.mark.parametrize("value, expected", [("on", True), ("off", False), ("true", True), ("0", False), ("yes", True), ("no", False)])
def test_switches_read_the_same_way_everywhere(monkeypatch, value, expected):
    monkeypatch.setenv("KEFU_FOLLOW_EVENTS", value)
    monkeypatch.setenv("KEFU_LEARNING", value)
    settings = load_settings()
    assert settings.follow_events is expected and settings.learning is expected


@pytest.mark.parametrize("variable, value, message", [
    ("KEFU_WAIT_UPDATE_SECONDS", "-5", "greater than or equal to 0"),
    ("KEFU_WAIT_UPDATE_SECONDS", "soon", "not a valid float"),
    ("KEFU_CONSOLE_PORT", "80000", "less than or equal to 65535"),
    ("KEFU_STORE_URL", "suggestions.db", "must be a SQLAlchemy URL"),
    ("KEFU_ORDERS", "ftp://orders", "must be sqlite:///path or an http(s) URL"),
    ("KEFU_RASA_URL", "localhost:5005", "must be an http(s) URL"),
    ("KEFU_FOLLOW_EVENTS", "maybe", "could not be parsed to a boolean"),
])
def test_a_bad_value_stops_the_process_naming_the_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert f"configuration: {variable}: " in str(error.value) and message in str(error.value)
    assert repr(value) in str(error.value)


def test_every_problem_is_reported_at_once(monkeypatch):
    monkeypatch.setenv("KEFU_WAIT_AMBER_SECONDS", "300")
    monkeypatch.setenv("KEFU_WAIT_RED_SECONDS", "100")
    monkeypatch.setenv("KEFU_MAX_ATTEMPTS", "0")
    with pytest.raises(SettingsError) as error:
        load_settings()
    lines = str(error.value).splitlines()
    assert len(lines) == 2
    assert any("KEFU_WAIT_RED_SECONDS: must not be below KEFU_WAIT_AMBER_SECONDS" in line for line in lines)


def test_every_setting_has_a_kefu_or_rasa_variable():
    names = [env_name(field) for field in Settings.__fields__]
    assert all(name.startswith(("KEFU_", "RASA_")) for name in names), names
    assert len(set(names)) == len(names)


def test_a_child_process_reads_what_we_hand_it(tmp_path):
    child = settings_from({"KEFU_DATA_DIR": str(tmp_path), "KEFU_WAIT_UPDATE_SECONDS": "7", "UNRELATED": "x"})
    assert child.store_url == f"sqlite:///{tmp_path / 'suggestions.db'}" and child.wait_update_seconds == 7


def test_a_process_with_a_bad_setting_says_so_and_stops(tmp_path):
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT), KEFU_CONSOLE_PORT="eighty")
    result = subprocess.run([sys.executable, "-m", "console", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "configuration: KEFU_CONSOLE_PORT: value is not a valid integer" in result.stderr


def _reads_environment(tree: ast.AST):
    """Calls or subscripts that read a variable: os.environ.get/[...], os.getenv, environ.get."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            if target in ("os.getenv", "getenv") or target.endswith("environ.get") or target.endswith("environ.pop"):
                yield node.lineno, target
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("os.environ") and isinstance(node.ctx, ast.Load):
            yield node.lineno, ast.unparse(node)


def test_no_module_reads_the_environment_but_the_configuration():
    """Writing defaults for Rasa's own variables (setdefault) and copying the environment for a
    child process are fine; reading a variable is the configuration module's job."""
    found = []
    for folder in ("assist", "console", "kefu_rasa", "actions", "bench", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "assist" / "settings.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _reads_environment(tree)]
    assert found == []


def test_the_configuration_page_names_every_setting():
    page = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    missing = [env_name(field) for field in Settings.__fields__ if f"`{env_name(field)}`" not in page]
    assert missing == []


PRODUCTION = {"profile": "production", "postgres_url": "postgresql://kefu:pw@db.internal:5432",
              "redis_url": "redis://:s3cret@redis.internal:6380/2", "rasa_jwt_secret": "k" * 40}


def test_the_production_profile_puts_every_store_on_postgresql_and_redis(tmp_path):
    from assist.profile import PRODUCTION_ENDPOINTS, endpoints_file, rasa_environment

    settings = load_settings(data_dir=tmp_path, **PRODUCTION)
    assert settings.store_url == "postgresql://kefu:pw@db.internal:5432/kefu_suggestions"
    assert settings.events_url == "postgresql://kefu:pw@db.internal:5432/kefu_events"
    assert settings.tracker_url == "postgresql://kefu:pw@db.internal:5432/kefu_tracker"
    assert settings.orders_url.startswith("sqlite:///")  # the shop's orders are the shop's business
    rasa = rasa_environment(settings)
    assert (rasa["KEFU_REDIS_HOST"], rasa["KEFU_REDIS_PORT"], rasa["KEFU_REDIS_DB"], rasa["KEFU_REDIS_PASSWORD"]) == \
        ("redis.internal", "6380", "2", "s3cret")
    assert rasa["KEFU_TRACKER_URL"] == settings.tracker_url and rasa["KEFU_ACTION_ENDPOINT"] == "http://127.0.0.1:5055/webhook"
    # Rasa's own pool (50 + 100 per process) would exhaust PostgreSQL's 100 connections with two instances.
    assert int(rasa["SQL_POOL_SIZE"]) + int(rasa["SQL_MAX_OVERFLOW"]) <= 10
    assert endpoints_file(settings) == PRODUCTION_ENDPOINTS and endpoints_file(settings, "/etc/x.yml").name == "x.yml"
    # The shipped file holds no value, only the variables kefu hands Rasa.
    import re

    named = set(re.findall(r"\$\{(\w+)\}", PRODUCTION_ENDPOINTS.read_text(encoding="utf-8")))
    assert named and named <= set(rasa)
    assert settings.socketio_redis_url == PRODUCTION["redis_url"]  # socket.io rooms shared across Rasa servers
    assert load_settings(data_dir=tmp_path).socketio_redis_url == ""  # one machine: rooms in the process
    explicit = load_settings(data_dir=tmp_path, **PRODUCTION, store_url="postgresql://other/suggestions")
    assert explicit.store_url == "postgresql://other/suggestions"


@pytest.mark.parametrize("missing, message", [
    ("postgres_url", "KEFU_POSTGRES_URL: is required with KEFU_PROFILE=production"),
    ("redis_url", "KEFU_REDIS_URL: is required with KEFU_PROFILE=production"),
    ("rasa_jwt_secret", "KEFU_RASA_JWT_SECRET: is required with KEFU_PROFILE=production"),
])
def test_the_production_profile_refuses_to_start_without_its_services(tmp_path, missing, message):
    given = {key: value for key, value in PRODUCTION.items() if key != missing}
    with pytest.raises(SettingsError, match=message):
        load_settings(data_dir=tmp_path, **given)


def test_the_production_profile_refuses_sqlite_files_and_unknown_profiles(tmp_path):
    with pytest.raises(SettingsError, match="KEFU_STORE_URL: is a SQLite file, which several instances cannot share"):
        load_settings(data_dir=tmp_path, **PRODUCTION, store_url=f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(SettingsError, match="KEFU_PROFILE: must be one of embedded, production"):
        load_settings(data_dir=tmp_path, profile="prod")
    with pytest.raises(SettingsError, match="KEFU_REDIS_URL: must start with redis://"):
        load_settings(data_dir=tmp_path, **dict(PRODUCTION, redis_url="db.internal:6379"))

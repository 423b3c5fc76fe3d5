"""The systemd units in deploy/systemd/ are valid (systemd-analyze verify) and start the product:
installed against this checkout (/opt/kefu-assist → here, /etc/kefu-assist → a temporary
directory), their ExecStartPre and ExecStart commands run as systemd would run them — the
environment from Environment= and EnvironmentFile= only, ${VARIABLES} expanded — until the action
server answers, Rasa has its model and the console says it is ready."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Dict, List

import pytest
import requests

from assist.settings import settings_from
from kefu_rasa.dev.servers import free_port, wait_until, write_endpoints
from kefu_rasa.dev.supervisor import spawn_process, stop_process

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
ORDER = ("kefu-migrate.service", "kefu-actions.service", "kefu-rasa.service", "kefu-console.service")
SERVERS = ORDER[1:]


def read_unit(path: Path) -> Dict[str, List[str]]:
    """`Section.Key` → every value given (systemd keys may repeat), continuation lines joined."""
    found: Dict[str, List[str]] = {}
    section, pending = "", ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


def read_env_file(path: Path) -> Dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def command(line: str, env: Dict[str, str]) -> List[str]:
    words = [word for word in shlex.split(line)]
    for key, value in env.items():
        words = [word.replace("${%s}" % key, value) for word in words]
    assert not any("${" in word for word in words), f"unexpanded variable in {words}"
    return words


@pytest.fixture
def installed(tmp_path, trained_model):
    """The units and /etc/kefu-assist as an operator would install them, pointed at this checkout."""
    etc, units, models, data = tmp_path / "etc", tmp_path / "units", tmp_path / "models", tmp_path / "data"
    for folder in (etc, units, models):
        folder.mkdir()
    (models / trained_model.name).symlink_to(trained_model)  # the one model Rasa should load
    for unit in UNITS.iterdir():
        if unit.suffix in (".service", ".target", ".timer"):
            text = unit.read_text(encoding="utf-8").replace("/opt/kefu-assist/models", str(models))
            (units / unit.name).write_text(text.replace("/opt/kefu-assist", str(ROOT)).replace("/etc/kefu-assist", str(etc)))
    env = read_env_file(UNITS / "kefu.env.example")
    ports = {name: free_port() for name in ("KEFU_RASA_PORT", "KEFU_ACTIONS_PORT", "KEFU_CONSOLE_PORT")}
    env.update({key: str(port) for key, port in ports.items()}, KEFU_RASA_JWT_SECRET=uuid.uuid4().hex, KEFU_DATA_DIR=str(data),
               KEFU_LOG_DIR=str(tmp_path / "log"), KEFU_RASA_URL=f"http://127.0.0.1:{ports['KEFU_RASA_PORT']}",
               KEFU_STORE_URL=f"sqlite:///{data / 'suggestions.db'}", KEFU_COOKIE_SECURE="off")
    urls = write_endpoints(ROOT / "endpoints.yml", etc / "endpoints.yml", f"http://127.0.0.1:{ports['KEFU_ACTIONS_PORT']}/webhook", data)
    env["KEFU_EVENTS_URL"] = urls["event_broker"]
    env["KEFU_TRACKER_URL"] = urls["tracker_store"]
    (etc / "kefu.env").write_text("".join(f"{key}={value}\n" for key, value in env.items()), encoding="utf-8")
    shutil.copy(ROOT / "credentials.yml", etc / "credentials.yml")
    return units, env


def test_the_example_environment_file_names_only_real_settings():
    example = read_env_file(UNITS / "kefu.env.example")
    settings = settings_from(example)  # a misspelt value would raise, naming the variable
    assert settings.rasa_port == 5005 and settings.cookie_secure
    from assist.settings import Settings, env_name

    known = {env_name(field) for field in Settings.__fields__}
    assert set(example) <= known, set(example) - known


def test_systemd_analyze_verifies_the_units(installed):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed")
    units, _ = installed
    result = subprocess.run([analyze, "verify", *sorted(str(p) for p in units.iterdir())], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_the_units_start_the_product(installed):
    units, _ = installed
    started = []
    try:
        for name in ORDER:
            unit = read_unit(units / name)
            if name in SERVERS:
                assert unit["Service.Restart"] == ["on-failure"] and unit["Unit.StartLimitBurst"] == ["5"]
            if name in ("kefu-actions.service", "kefu-console.service"):  # both refuse a schema that is behind
                assert unit["Unit.Requires"] == ["kefu-migrate.service"] and "kefu-migrate.service" in unit["Unit.After"][0]
            # systemd's clean environment: a search path and a home, then the unit's own.
            env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME")}
            for path in unit["Service.EnvironmentFile"]:
                env.update(read_env_file(Path(path)))
            for assignments in unit.get("Service.Environment", []):
                env.update(pair.split("=", 1) for pair in shlex.split(assignments))
            cwd = Path(unit["Service.WorkingDirectory"][0])
            for pre in unit.get("Service.ExecStartPre", []):
                subprocess.run(command(pre, env), cwd=cwd, env=env, check=True, capture_output=True, timeout=120)
            if unit["Service.Type"] == ["oneshot"]:  # runs to its end before what needs it starts
                subprocess.run(command(unit["Service.ExecStart"][0], env), cwd=cwd, env=env, check=True, capture_output=True, timeout=120)
                continue
            started.append(spawn_process(command(unit["Service.ExecStart"][0], env), env, cwd,
                                         open(units / f"{name}.out", "w", encoding="utf-8")))
        ports = {key: env[key] for key in ("KEFU_RASA_PORT", "KEFU_ACTIONS_PORT", "KEFU_CONSOLE_PORT")}

        def up() -> bool:
            for proc, name in zip(started, SERVERS):
                assert proc.poll() is None, f"{name} exited:\n{(units / f'{name}.out').read_text()[-3000:]}"
            try:
                actions = requests.get(f"http://127.0.0.1:{ports['KEFU_ACTIONS_PORT']}/health", timeout=3).ok
                ready = requests.get(f"http://127.0.0.1:{ports['KEFU_CONSOLE_PORT']}/ready", timeout=10).json()
            except (requests.RequestException, ValueError):
                return False
            return actions and ready.get("ready") is True and ready

        ready = wait_until(up, timeout=240, interval=0.5)
        assert ready and ready["checks"]["rasa"]["model"].startswith("kefu-"), ready
        assert (Path(env["KEFU_LOG_DIR"]) / "rasa.log").exists() and (Path(env["KEFU_LOG_DIR"]) / "console.log").exists()
    finally:
        for proc in reversed(started):
            stop_process(proc)


def test_the_daily_purge_unit_runs_the_retention(installed):
    """kefu-purge.timer starts kefu-purge.service once a day: its ExecStart, as systemd would run it."""
    units, _ = installed
    timer = read_unit(units / "kefu-purge.timer")
    assert timer["Timer.Persistent"] == ["true"] and timer["Install.WantedBy"] == ["timers.target"]
    assert "kefu-purge.timer" in read_unit(units / "kefu-assist.target")["Unit.Wants"][0]
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME")}
    for name in ("kefu-migrate.service", "kefu-purge.service"):
        unit = read_unit(units / name)
        assert unit["Service.Type"] == ["oneshot"] and unit["Service.UMask"] == ["0077"]
        for path in unit["Service.EnvironmentFile"]:
            env.update(read_env_file(Path(path)))
        done = subprocess.run(command(unit["Service.ExecStart"][0], env), cwd=Path(unit["Service.WorkingDirectory"][0]),
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["days"] == 180 and report["dry_run"] is False and "rows" in report

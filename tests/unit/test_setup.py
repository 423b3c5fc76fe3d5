"""`make setup` finds a Python 3.10 or says exactly what to do; the model cache key."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kefu_rasa.dev.model_cache import fingerprint

ROOT = Path(__file__).resolve().parents[2]


def run_setup(tmp_path, env):
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup_venv.sh")],
        env={"VENV": str(tmp_path / "venv"), **env}, capture_output=True, text=True, timeout=60,
    )


def test_setup_without_any_python_310_says_what_to_install(tmp_path):
    result = run_setup(tmp_path, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "pyenv install 3.10" in result.stderr and "PYTHON=" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_setup_refuses_a_python_rasa_cannot_run_on(tmp_path):
    python311 = shutil.which("python3") or "/usr/bin/python3"
    result = run_setup(tmp_path, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": python311})
    assert result.returncode == 2 and "3.8–3.10" in result.stderr


def test_setup_is_a_no_op_when_nothing_changed():
    result = subprocess.run(["bash", "scripts/setup_venv.sh"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "up to date" in result.stdout


def test_model_name_follows_data_and_config_but_not_docs(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    for name in ("config.yml", "domain.yml", "data", "kefu_rasa", "assist"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    before = fingerprint(project)
    (project / "data" / "README.md").write_text("docs only", encoding="utf-8")
    assert fingerprint(project) == before
    with open(project / "data" / "nlu" / "greet.yml", "a", encoding="utf-8") as handle:
        handle.write("    - 哈喽哈喽\n")
    assert fingerprint(project) != before

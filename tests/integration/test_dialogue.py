"""Rasa test stories (tests/stories) pass against the shared model."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_rasa_test_stories_pass(trained_model, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--stories", "tests/stories", "--model", str(trained_model),
         "--out", str(tmp_path), "--fail-on-prediction-errors", "--no-plot"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert not (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8").strip().startswith("- story")

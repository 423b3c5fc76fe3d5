"""Shared fixtures: one trained model per test session (cached by the hash of its inputs,
outside git, in models/), and the real Rasa + action servers on free loopback ports."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT.parent / "shared" / "eval"


@pytest.fixture(scope="session")
def trained_model() -> Path:
    from kefu_rasa.model_cache import ensure_model

    return ensure_model()


@pytest.fixture(scope="session")
def nlu_agent(trained_model):
    from kefu_rasa.evaluation import load_agent

    return load_agent(trained_model)


@pytest.fixture(scope="session")
def stack(trained_model, tmp_path_factory):
    """Rasa (API behind a token) and the action server, as `make run` starts them."""
    from kefu_rasa.servers import free_port, start_stack

    workdir = tmp_path_factory.mktemp("stack")
    running = start_stack(
        trained_model,
        workdir,
        rasa_port=free_port(),
        actions_port=free_port(),
        token=uuid.uuid4().hex,
        tracker_db=workdir / "tracker.db",
        extra_env={"KEFU_ORDERS": f"sqlite:///{workdir / 'orders.db'}"},
    )
    yield running
    running.stop()


@pytest.fixture
def eval_tsv() -> Path:
    path = EVAL_DIR / "nlu_eval.tsv"
    if not path.exists():
        pytest.skip(f"{path} is absent: real-message evaluation needs ../shared/eval beside the project")
    return path

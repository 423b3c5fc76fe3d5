"""Shared fixtures: one trained model per test session (cached by the hash of its inputs,
outside git, in models/), and the real Rasa + action servers on free loopback ports."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import yaml

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
def callback_inbox():
    from kefu_rasa.callback_inbox import CallbackInbox

    inbox = CallbackInbox()
    yield inbox
    inbox.close()


@pytest.fixture(scope="session")
def stack(trained_model, tmp_path_factory, callback_inbox):
    """Rasa (API behind a token), the action server and the console, as `make run` starts them,
    plus Rasa's callback channel pointed at a local inbox."""
    from kefu_rasa.servers import free_port, start_stack

    workdir = tmp_path_factory.mktemp("stack")
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    credentials["callback"] = {"url": callback_inbox.url}
    (workdir / "credentials.yml").write_text(yaml.safe_dump(credentials), encoding="utf-8")
    running = start_stack(
        trained_model,
        workdir,
        data_dir=workdir / "data",
        credentials=workdir / "credentials.yml",
        rasa_port=free_port(),
        actions_port=free_port(),
        console_port=free_port(),
        token=uuid.uuid4().hex,
        extra_env={"KEFU_WAIT_UPDATE_SECONDS": "600", "KEFU_RETRY_MAX_SECONDS": "2"},
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def agent_token(stack):
    from assist.store import SuggestionStore

    return SuggestionStore(stack.store_url).create_agent("test-agent")


@pytest.fixture
def eval_tsv() -> Path:
    path = EVAL_DIR / "nlu_eval.tsv"
    if not path.exists():
        pytest.skip(f"{path} is absent: real-message evaluation needs ../shared/eval beside the project")
    return path

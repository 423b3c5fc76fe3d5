"""Shared fixtures: one trained model per test session (cached by the hash of its inputs,
outside git, in models/), and the real Rasa + action servers on free loopback ports."""
from __future__ import annotations

import base64
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_settings():
    """Each test reads the environment afresh (a test may monkeypatch a KEFU_* variable)."""
    from assist.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def trained_model() -> Path:
    from kefu_rasa.dev.model_cache import ensure_model

    return ensure_model()


@pytest.fixture(scope="session")
def nlu_agent(trained_model):
    from kefu_rasa.dev.evaluation import load_agent

    return load_agent(trained_model)


@pytest.fixture(scope="session")
def callback_inbox():
    from kefu_rasa.dev.callback_inbox import CallbackInbox

    inbox = CallbackInbox()
    yield inbox
    inbox.close()


WECHAT = {"KEFU_WECHAT_APP_ID": "wx5f1e0c0ffee0kefu", "KEFU_WECHAT_APP_SECRET": "a-test-secret-of-32-characters!!",
          "KEFU_WECHAT_TOKEN": "kefu-wechat-token",
          "KEFU_WECHAT_AES_KEY": base64.b64encode(b"kefu-assist test EncodingAESKey!").decode().rstrip("=")}


@pytest.fixture(scope="session")
def wechat_api():
    """A local fake of WeChat's API (token, customer-service messages) that records what it is sent."""
    from kefu_rasa.dev.wechat_api_fake import FakeWeChatApi

    api = FakeWeChatApi(WECHAT["KEFU_WECHAT_APP_ID"], WECHAT["KEFU_WECHAT_APP_SECRET"])
    yield api
    api.close()


@pytest.fixture(scope="session")
def stack(trained_model, tmp_path_factory, callback_inbox, wechat_api):
    """Rasa (API behind a token), the action server and the console, as `make run` starts them,
    plus Rasa's callback channel pointed at a local inbox and the WeChat Official Account channel
    pointed at the local fake of WeChat's API."""
    from kefu_rasa.dev.servers import free_port, start_stack

    workdir = tmp_path_factory.mktemp("stack")
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    credentials["kefu_rasa.channels.CallbackInput"] = {"url": callback_inbox.url}
    credentials["kefu_rasa.wechat.WeChatInput"] = None
    (workdir / "credentials.yml").write_text(yaml.safe_dump(credentials), encoding="utf-8")
    running = start_stack(
        trained_model,
        workdir,
        data_dir=workdir / "data",
        credentials=workdir / "credentials.yml",
        rasa_port=free_port(),
        actions_port=free_port(),
        console_port=free_port(),
        secret=uuid.uuid4().hex,
        extra_env={"KEFU_WAIT_UPDATE_SECONDS": "600", "KEFU_RETRY_MAX_SECONDS": "2", "KEFU_WECHAT_API_URL": wechat_api.url, **WECHAT},
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def agent_token(stack):
    from assist.store import SuggestionStore

    return SuggestionStore(stack.store_url).agents.create_agent("test-agent")


@pytest.fixture
def eval_tsv() -> Path:
    from assist.settings import get_settings

    path = get_settings().eval_messages
    if not path.exists():
        pytest.skip(f"{path} is absent: real-message evaluation needs ../shared/eval beside the project")
    return path


# ---- PostgreSQL and Redis of our own, on free loopback ports (kefu_rasa/dev/services.py) ------------
@pytest.fixture(scope="session")
def postgres():
    from kefu_rasa.dev.services import start_postgres

    cluster = start_postgres()
    if cluster is None:
        pytest.skip("PostgreSQL is not installed (scripts/install_services.sh installs it)")
    yield cluster.as_dict()
    cluster.close()


@pytest.fixture(scope="session")
def redis():
    from kefu_rasa.dev.services import start_redis

    server = start_redis()
    if server is None:
        pytest.skip("Redis is not installed (scripts/install_services.sh installs it)")
    yield server.port
    server.close()


@pytest.fixture(scope="session")
def nginx():
    """Makes nginx servers of our own (kefu_rasa/dev/production.py: own prefix, config, pid and logs,
    `daemon off`, free ports; no root needed): `nginx()` gives one to start with a config. All stop
    at the end of the session."""
    from kefu_rasa.dev.production import Nginx, nginx_binary
    from kefu_rasa.dev.servers import free_port

    binary = nginx_binary()
    if not binary:
        pytest.skip("nginx is not installed (scripts/install_services.sh installs it)")
    made = []

    def make():
        # Its own directory outside pytest's private temporary root: started as root, its workers are `nobody`.
        made.append(Nginx(binary, Path(tempfile.mkdtemp(prefix="kefu-nginx-")), free_port(), free_port()))
        return made[-1]

    yield make
    for server in made:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)

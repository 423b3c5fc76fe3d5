"""Another Rasa project adopts kefu-assist the way the README says, and one handoff runs through it.

The project is built in a temporary directory: our normaliser in its pipeline, our handoff
action registered by one import in its own `actions` package, our console beside it.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pytest
import requests

from assist.store import SuggestionStore
from kefu_rasa.dev.servers import free_port, start_stack

pytestmark = pytest.mark.slow

FILES = {
    "config.yml": """
        recipe: default.v1
        language: zh
        assistant_id: adopting-shop
        pipeline:
          - name: kefu_rasa.components.ChineseTextNormalizer
          - name: JiebaTokenizer
          - name: CountVectorsFeaturizer
            analyzer: char
            min_ngram: 1
            max_ngram: 2
          - name: DIETClassifier
            epochs: 40
            random_seed: 1
            entity_recognition: false
            number_of_transformer_layers: 0
        policies:
          - name: RulePolicy
    """,
    "domain.yml": """
        version: "3.1"
        intents: [greet, complaint]
        responses:
          utter_greet:
            - text: "您好，欢迎光临小店～"
          utter_handoff_holding:
            - text: "您的问题已经转给客服同事了，请您稍等一下哦～"
        actions: [action_handoff]
    """,
    "data/nlu.yml": """
        version: "3.1"
        nlu:
        - intent: greet
          examples: |
            - 你好
            - 您好
            - 在吗
            - 哈喽
            - 老板在不在
            - 有人吗
            - 早上好
            - hello
        - intent: complaint
          examples: |
            - 东西质量太差了
            - 你们客服态度太恶劣
            - 收到的货是坏的 太失望了
            - 跟图片完全不一样 骗人
            - 用了一天就坏了 什么破玩意
            - 我要投诉你们
            - 包装烂成这样 差评
            - 假货吧这是
    """,
    "data/rules.yml": """
        version: "3.1"
        rules:
        - rule: greet
          steps:
          - intent: greet
          - action: utter_greet
        - rule: complaints go to a person
          steps:
          - intent: complaint
          - action: action_handoff
    """,
    "endpoints.yml": """
        action_endpoint:
          url: http://127.0.0.1:5055/webhook
        tracker_store:
          type: SQL
          dialect: sqlite
          db: tracker.db
        event_broker:
          type: SQL
          dialect: sqlite
          db: events.db
    """,
    # kefu's socket.io channel (delivery ids, catch-up, bounded action calls) beside Rasa's REST.
    "credentials.yml": "rest:\nkefu_rasa.channels.SocketIOInput:\n  session_persistence: true\n",
    # The one line an adopting project adds to its own action package:
    "actions/__init__.py": "from kefu_actions.handoff import ActionHandoff  # noqa: F401\n",
}


def test_a_second_rasa_project_hands_over_to_kefu_assist(tmp_path):
    project = tmp_path / "shop"
    for name, body in FILES.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    trained = subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--out", "models", "--fixed-model-name", "shop"],
        cwd=project, capture_output=True, text=True, timeout=900,
    )
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]

    stack = start_stack(
        project / "models" / "shop.tar.gz", tmp_path / "run", data_dir=tmp_path / "data", project=project,
        rasa_port=free_port(), actions_port=free_port(), console_port=free_port(), secret=uuid.uuid4().hex,
    )
    try:
        sender = f"shopper-{uuid.uuid4()}"
        reply = requests.post(
            f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "东西质量太差了，我要投诉！！"}, timeout=60
        ).json()
        assert reply and "您" in reply[-1]["text"]
        store = SuggestionStore(stack.store_url)
        case = store.cases.open_case_for(sender)
        assert case is not None and case["intent"] == "complaint"
        assert 2 <= len(store.cases.get_case(case["id"])["drafts"]) <= 3
        token = store.agents.create_agent("adopter-agent")
        listed = requests.get(f"{stack.console_url}/api/cases", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert [c["conversation_id"] for c in listed["cases"]] == [sender]
    finally:
        stack.stop()

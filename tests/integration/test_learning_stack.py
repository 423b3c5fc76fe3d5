"""With the real processes: every batch of drafts records the model and template versions that
made it and the NLU's reading, so acceptance can be compared release against release."""
from __future__ import annotations

import uuid

import pytest
import requests

from assist.store import SuggestionStore
from assist.shop.versions import template_version
from kefu_rasa.dev.servers import wait_until

pytestmark = pytest.mark.slow


def test_a_handed_over_message_records_versions_and_the_nlu_reading(stack, trained_model, agent_token):
    sender = f"learn-{uuid.uuid4().hex[:8]}"
    reply = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": "快递五天了还没到，气死我了，再不到就差评"}, timeout=30)
    assert reply.ok
    store = SuggestionStore(stack.store_url)
    case = wait_until(lambda: store.cases.open_case_for(sender), timeout=20, interval=0.2)
    assert case, "no case opened"
    assert case["versions"] == {"model": trained_model.name.split(".")[0], "templates": template_version()}
    record = next(r for r in store.learning.learning_records(decided_only=False) if r["case_id"] == case["id"])
    assert record["versions"] == case["versions"]
    assert record["intent"] == "delivery_delay" and 0 < record["confidence"] <= 1
    assert record["drafts"] and all(d["pieces"] and d["kind"] for d in record["drafts"])
    # An agent's decision on it is a learning record of that release.
    detail = store.cases.get_case(case["id"])
    store.decisions.decide(case["id"], "test-agent", "approve", draft_id=detail["drafts"][0]["id"], batch=detail["batch"], resolve=True)
    decided = next(r for r in store.learning.learning_records() if r["case_id"] == case["id"])
    assert decided["decision"]["rank"] == 1 and decided["versions"]["model"] == trained_model.name.split(".")[0]

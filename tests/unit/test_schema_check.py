"""kefu_rasa/schema_check.py: Rasa's schemas are checked once; instances are validated as before."""
import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import SlotSet

from kefu_rasa import schema_check


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    monkeypatch.setattr(jsonschema, "validate", jsonschema.validate)  # restored after the test
    monkeypatch.setattr(schema_check, "_validators", {})
    schema_check.install()
    yield


def test_a_schema_is_checked_once_for_many_instances(monkeypatch):
    checks = []
    kind = jsonschema.validators.validator_for({})
    original = kind.check_schema.__func__
    monkeypatch.setattr(kind, "check_schema", classmethod(lambda cls, schema: (checks.append(1), original(cls, schema))[1]))
    schema = {"type": "object", "properties": {"events": {"type": "array"}}}
    for _ in range(5):
        jsonschema.validate({"events": []}, dict(schema))  # a fresh dict each time, as Rasa builds it
    assert len(checks) == 1


def test_a_bad_instance_and_a_bad_schema_raise_as_before():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"events": "no list"}, {"type": "object", "properties": {"events": {"type": "array"}}})
    for _ in range(2):
        with pytest.raises(jsonschema.SchemaError):
            jsonschema.validate({}, {"type": "no such type"})


def test_rasa_checks_an_action_servers_answer_through_it():
    action = RemoteAction("action_x", None)
    good = {"events": [SlotSet("order_id", "1").as_dict()], "responses": [{"text": "好的"}]}
    assert action._validate_action_result(good)
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result({"events": "not a list", "responses": []})
    assert len(schema_check._validators) == 1

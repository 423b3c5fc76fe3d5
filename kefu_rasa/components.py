"""ChineseTextNormalizer: a Rasa graph component that runs ahead of the tokenizer.

It rewrites the message text with `assist.text.normalize.normalize` (traditional → simplified,
full → half width, squeezed spaces and repeats, a length cap, no leading '/') and moves
entity annotations of training examples along, so they still cover the same words.
The original text stays in the tracker; only NLU sees the normalised one. Because the
'/' prefix is gone before Rasa's RegexMessageHandler runs, a customer typing /restart or
/greet cannot trigger intents or wipe the conversation.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, ENTITY_ATTRIBUTE_VALUE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assist.text.normalize import DEFAULT_MAX_CHARS, normalize_with_map


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ChineseTextNormalizer(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_chars": DEFAULT_MAX_CHARS}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.max_chars = int(config["max_chars"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ChineseTextNormalizer":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages

    def _normalize(self, message: Message) -> None:
        original = message.get(TEXT)
        if not isinstance(original, str) or not original:
            return
        normalized = normalize_with_map(original, self.max_chars)
        if normalized.text == original:
            return
        entities = message.get(ENTITIES) or []
        moved = []
        for entity in entities:
            span = normalized.map_span(entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END])
            if span is None:
                continue  # the annotated words were cut off by the length cap
            start, end = span
            entity = dict(entity)
            if entity.get(ENTITY_ATTRIBUTE_VALUE) == original[entity[ENTITY_ATTRIBUTE_START]:entity[ENTITY_ATTRIBUTE_END]]:
                entity[ENTITY_ATTRIBUTE_VALUE] = normalized.text[start:end]
            entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END] = start, end
            moved.append(entity)
        message.set(TEXT, normalized.text)
        if entities:
            message.set(ENTITIES, moved)

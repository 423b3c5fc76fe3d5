"""CharNgramIntentClassifier: a second, sparse intent classifier whose ranking is blended
with DIET's.

DIET learns dense embeddings from a few thousand examples and its ranking moves with every
data revision; a linear model over TF-IDF character n-grams is cheap, convex (the same data
always gives the same weights) and reads the words customers actually use (质量, 态度, 还没到,
便宜点) wherever they sit in a long, unpunctuated message. Placed after DIETClassifier in
config.yml, it replaces the message's intent and ranking with

    confidence(intent) = sparse_weight · p_sparse(intent) + (1 − sparse_weight) · p_diet(intent)

so FallbackClassifier, which follows, judges the blended confidence. Without a classifier
before it, it ranks on its own. It reads the text as ChineseTextNormalizer left it
(simplified, half-width), so it must come after the normaliser.

The model persists as plain data in its model storage resource, no pickle: the n-gram
vocabulary and classes as JSON, the IDF weights and the linear coefficients as a NumPy
archive loaded with allow_pickle=False.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "weights.npz"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CharNgramIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # 'char_wb' keeps n-grams inside the stretches between spaces, which shoppers
            # use as punctuation; 'char' lets them run across.
            "analyzer": "char_wb",
            "min_ngram": 1,
            "max_ngram": 3,
            # Inverse regularisation strength of the logistic regression.
            "C": 10.0,
            # Share of this classifier in the blended ranking (0: DIET alone, 1: this alone).
            "sparse_weight": 0.5,
            "max_iter": 2000,
            "random_seed": 42,
            # Intents kept in the ranking this component outputs (0: all).
            "ranking_length": 10,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: Optional[List[str]] = None, classes: Optional[List[str]] = None,
                 idf: Optional[np.ndarray] = None, coef: Optional[np.ndarray] = None,
                 intercept: Optional[np.ndarray] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        weight = float(self.config["sparse_weight"])
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"CharNgramIntentClassifier: sparse_weight must be between 0 and 1, not {weight}")
        self._model_storage = model_storage
        self._resource = resource
        self.classes = list(classes or [])
        self.coef = coef
        self.intercept = intercept
        self.vectorizer = self._vectorizer(vocabulary, idf) if vocabulary is not None else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CharNgramIntentClassifier":
        return cls(config, model_storage, resource)

    # ---- training --------------------------------------------------------------------------

    def _vectorizer(self, vocabulary: Optional[List[str]] = None, idf: Optional[np.ndarray] = None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer=self.config["analyzer"], lowercase=True, sublinear_tf=True,
                                     ngram_range=(int(self.config["min_ngram"]), int(self.config["max_ngram"])),
                                     vocabulary=vocabulary, dtype=np.float64)
        if idf is not None:
            vectorizer.idf_ = idf
        return vectorizer

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(TEXT) and e.get(INTENT)]
        labels = sorted({e.get(INTENT) for e in examples})
        if len(labels) < 2:
            logger.warning("CharNgramIntentClassifier: fewer than two intents with examples; nothing to train")
            return self._resource
        vectorizer = self._vectorizer()
        features = vectorizer.fit_transform([e.get(TEXT) for e in examples])
        model = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]),
                                   class_weight="balanced", random_state=int(self.config["random_seed"]))
        model.fit(features, [e.get(INTENT) for e in examples])
        self.vectorizer = vectorizer
        self.classes = [str(c) for c in model.classes_]
        self.coef = model.coef_
        self.intercept = model.intercept_
        self.persist()
        return self._resource

    # ---- prediction ------------------------------------------------------------------------

    def probabilities(self, texts: List[str]) -> np.ndarray:
        """P(intent | text) for each text, columns in the order of `self.classes`."""
        scores = self.vectorizer.transform(texts) @ self.coef.T + self.intercept
        scores = np.asarray(scores)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.vectorizer is None or not self.classes:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        weight = float(self.config["sparse_weight"])
        for message, row in zip(messages, self.probabilities(texts)):
            sparse = dict(zip(self.classes, row.tolist()))
            previous = {r[INTENT_NAME_KEY]: float(r[PREDICTED_CONFIDENCE_KEY])
                        for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY)}
            if previous:
                names = set(sparse) | set(previous)
                blended = {n: weight * sparse.get(n, 0.0) + (1.0 - weight) * previous.get(n, 0.0) for n in names}
            else:
                blended = sparse
            ranking = sorted(({INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: c} for n, c in blended.items()),
                             key=lambda r: -r[PREDICTED_CONFIDENCE_KEY])
            length = int(self.config["ranking_length"])
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[:length] if length > 0 else ranking, add_to_output=True)
        return messages

    # ---- persistence -----------------------------------------------------------------------

    def persist(self) -> None:
        vocabulary = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(
                json.dumps({"classes": self.classes, "vocabulary": vocabulary}, ensure_ascii=False), encoding="utf-8")
            np.savez_compressed(directory / WEIGHTS_FILE, idf=self.vectorizer.idf_,
                                coef=self.coef, intercept=self.intercept)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "CharNgramIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
                with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as weights:
                    idf, coef, intercept = weights["idf"], weights["coef"], weights["intercept"]
        except (ValueError, FileNotFoundError):
            # Rasa asks to load untrained components too (e.g. trained with no examples).
            logger.debug(f"CharNgramIntentClassifier: no trained model in resource {resource.name}")
            return cls.create(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, meta["vocabulary"], meta["classes"], idf, coef, intercept)

"""How the customer feels in one message, and where that is heading across messages.

Levels: calm < anxious < angry < abusive. Insults make a message abusive outright;
anger adds up from angry words (2 points), annoyed words, threats, 😡 and '!!' (1 or 2);
worry from words such as 着急/还没到, 😭 and '??'.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple, Sequence, Tuple

from assist.shop.cues import MOODS, Cues

LEVEL = {name: i for i, name in enumerate(MOODS)}
_BANGS = re.compile(r"!{2,}|!\?|\?!")
# Separators people slip between the characters of an insult to get past filters
# ("傻 逼", "你，妈"); insults are also looked for with them removed.
_SEPARATORS = re.compile(r"[\s,.，。、·\-_*~/\\|]+")
_QUESTIONS = re.compile(r"\?{2,}")


class MoodReading(NamedTuple):
    mood: str
    angry_points: int
    anxious_points: int
    threats: Tuple[str, ...]
    signals: Tuple[str, ...]

    @property
    def level(self) -> int:
        return LEVEL[self.mood]


def read_mood(norm_text: str, cues: Cues) -> MoodReading:
    return _read_mood(norm_text, cues)


@lru_cache(maxsize=8192)
def _read_mood(text: str, cues: Cues) -> MoodReading:
    signals = []
    insults = cues.abusive.distinct(text)
    if not insults:
        insults = cues.abusive.distinct(_SEPARATORS.sub("", text))
    angry = 2 * len(cues.angry.distinct(text)) + len(cues.annoyed.distinct(text))
    anxious = len(cues.anxious.distinct(text))
    threats = tuple(kind for kind, words in cues.threats.items() if words.matches(text))
    angry += 2 * len(threats)
    if any(e in text for e in cues.angry_emoji):
        angry += 2
        signals.append("angry_emoji")
    if any(e in text for e in cues.anxious_emoji):
        anxious += 1
        signals.append("anxious_emoji")
    if _BANGS.search(text):
        angry += 1
        signals.append("exclamations")
    if _QUESTIONS.search(text):
        anxious += 1
        signals.append("repeated_question_marks")
    if insults:
        signals.append("insult")
    if threats:
        signals.append("threat")
    if insults:
        mood = "abusive"
    elif angry >= 2:
        mood = "angry"
    elif anxious >= 1 or angry == 1:
        mood = "anxious"
    else:
        mood = "calm"
    return MoodReading(mood, angry, anxious, threats, tuple(signals))


def mood_trend(levels: Sequence[int]) -> str:
    """'new' (one message), 'rising', 'falling' or 'steady', judged on the latest message.

    Rising means the latest message is hotter than anything in the few before it, or the
    last three climb step by step: anger building up before the customer asks for a person.
    """
    if len(levels) < 2:
        return "new"
    current, before = levels[-1], levels[-4:-1]
    if current > max(before) or (len(levels) >= 3 and levels[-3] < levels[-2] < levels[-1]):
        return "rising"
    if current < before[-1]:
        return "falling"
    return "steady"

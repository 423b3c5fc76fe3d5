"""What the composer hands an agent: a draft with its score, the reason in a few words, and the
template pieces it was made of (the learning loop scores those)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

MAX_DRAFTS = 3
MIN_DRAFTS = 2


@dataclass(frozen=True)
class Draft:
    text: str
    score: float
    reason: str
    variant_id: str                 # the resolve variant: what sets this draft apart
    pieces: Tuple[str, ...] = ()    # every variant used, in order
    kind: str = "resolve"           # resolve | ask | alternative | short | answer | safe

    def to_dict(self) -> Dict[str, object]:
        return {"text": self.text, "score": self.score, "reason": self.reason, "variant_id": self.variant_id,
                "kind": self.kind, "pieces": list(self.pieces)}

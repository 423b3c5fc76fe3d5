"""The one error a bot builder sees when a data file (templates, policy, rules, cues) is wrong."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Tuple


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one data file, located so an editor can jump to it."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path or '(top)'}: {self.message}"


class DataError(Exception):
    """Raised with EVERY problem found, not just the first: builders fix a file in one pass."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: Tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

"""Draft coverage: every reply template composed over the situation grid (assist/builders/coverage.py).

Etiquette findings (must be 0), drafts per situation, length distribution, and which
concern × temperament combinations have no variant written for their tone.

    .venv/bin/python bench/coverage.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assist.builders.coverage import markdown, run_grid  # noqa: E402


def main() -> int:
    print(f"command: .venv/bin/python bench/coverage.py · {time.strftime('%Y-%m-%d %H:%M')}\n")
    started = time.perf_counter()
    report = run_grid()
    print(markdown(report))
    print(f"({time.perf_counter() - started:.1f} s)")
    return 1 if sum(report.findings.values()) or report.too_few else 0


if __name__ == "__main__":
    sys.exit(main())

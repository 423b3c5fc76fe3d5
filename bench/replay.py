"""Replay real dialogues through the bot and the drafting core, next to what real agents sent.

For each customer turn of ../shared/eval/dialogues.jsonl (read in place, never copied) the bot's
NLU reads it; a turn the bot hands over (a handoff intent, or a mood that needs a person) and
every later turn of that conversation (the bot stays paused; the console's follower redrafts)
gets drafts from assist.drafting.handoff (read_situation, then draft_for), exactly as in production. Where a real agent answered
that turn, we measure how close our drafts come to the agent's words — character bigram F1
(ROUGE-2 on characters) of the top draft and the best of the top three — against the chance
level (the same agent reply against an agent reply from another dialogue). Then the etiquette
checker runs over every real agent reply, to show how often real replies break the rules our
drafts never break. Only figures are printed, never the dialogues' text.

    .venv/bin/python bench/replay.py [--no-rasa] [--dialogues PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from assist.drafting.checker import check  # noqa: E402
from assist.drafting.handoff import draft_for, needs_person, read_situation  # noqa: E402
from assist.shop.policy import load_policy  # noqa: E402
from assist.settings import get_settings  # noqa: E402
from assist.text.normalize import normalize  # noqa: E402

DIALOGUES = get_settings().eval_dialogues
_NOT_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
# The corpora's own masks ([订单x], [数字x]) are not words the agent wrote.
_CORPUS_MASK = re.compile(r"\[[^\[\]]{1,8}x\]")

Parse = Callable[[str], Dict]


def _chars(text: str) -> str:
    return _NOT_TEXT.sub("", _CORPUS_MASK.sub("", normalize(text or "")))


def ngram_f1(a: str, b: str, n: int = 2) -> float:
    """F1 of character n-gram overlap (ROUGE-n on characters), punctuation and spaces ignored."""
    x, y = _chars(a), _chars(b)
    ga = Counter(x[i:i + n] for i in range(len(x) - n + 1))
    gb = Counter(y[i:i + n] for i in range(len(y) - n + 1))
    if not ga or not gb:
        return 0.0
    overlap = sum((ga & gb).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(ga.values()), overlap / sum(gb.values())
    return 2 * precision * recall / (precision + recall)


@dataclass
class Turn:
    dialogue: int
    first: bool                 # the turn that handed over (else a later turn while paused)
    topic: str
    drafts: List[str]
    agent: str                  # the real agent's answer to this turn


@dataclass
class Replay:
    dialogues: int = 0
    customer_turns: int = 0
    handed_over: int = 0
    turns: List[Turn] = field(default_factory=list)
    agent_replies: List[str] = field(default_factory=list)
    agent_replies_to_handoffs: List[Tuple[str, str]] = field(default_factory=list)  # (topic, text)
    seconds: float = 0.0


def load_dialogues(path: Path) -> List[Dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replay(dialogues: Sequence[Dict], parse: Parse, policy=None) -> Replay:
    policy = policy or load_policy()
    result = Replay(dialogues=len(dialogues))
    started = time.perf_counter()
    for number, dialogue in enumerate(dialogues):
        turns = dialogue.get("turns") or []
        paused = False
        history: List[str] = []
        for i, turn in enumerate(turns):
            text = turn.get("text") or ""
            if turn.get("role") == "agent":
                result.agent_replies.append(text)
                continue
            if turn.get("role") != "customer" or not text.strip():
                continue
            result.customer_turns += 1
            parsed = parse(text)
            intent = (parsed.get("intent") or {}).get("name")
            situation = read_situation(text, intent, parsed.get("intent_ranking"), parsed.get("entities"), history)
            history.append(text)
            first = False
            if not paused:
                if not needs_person(intent, situation):
                    continue  # the bot answers this one itself
                paused = first = True
            handoff = draft_for(situation, policy=policy)
            result.handed_over += 1
            answer = []
            for later in turns[i + 1:]:
                if later.get("role") != "agent":
                    break
                answer.append(later.get("text") or "")
            if answer:
                reply = " ".join(answer)
                result.turns.append(Turn(number, first, handoff.situation.topic, [d["text"] for d in handoff.drafts], reply))
                result.agent_replies_to_handoffs.append((handoff.situation.topic, reply))
    result.seconds = time.perf_counter() - started
    return result


def rasa_parser() -> Tuple[Parse, str]:
    import asyncio
    import logging
    import warnings

    warnings.filterwarnings("ignore")  # library deprecation chatter, not our figures
    logging.getLogger("jieba").setLevel(logging.WARNING)

    from kefu_rasa.dev.evaluation import load_agent
    from kefu_rasa.dev.model_cache import ensure_model

    import jieba  # the model loads it: keep its start-up log out of the table

    jieba.setLogLevel(logging.WARNING)
    model = ensure_model(log=lambda m: print(m, file=sys.stderr))
    agent = load_agent(model)
    return (lambda text: asyncio.run(agent.parse_message(text))), model.name


def cue_parser() -> Tuple[Parse, str]:
    return (lambda text: {"intent": {"name": None}}), "no NLU model: the core's cue words"


# ---- figures -----------------------------------------------------------------------------------

def closeness(result: Replay, seed: int = 7, n: int = 2) -> List[Tuple[str, int, float, float, float]]:
    """(rows, n, top-1 F1, best-of-3 F1, chance F1) for all turns, handover turns, later turns;
    character n-grams of size `n`."""
    rng = random.Random(seed)
    others = [(t.dialogue, t.agent) for t in result.turns]
    rows = []
    for name, pick in (("every turn handed to a person", lambda t: True), ("the turn that hands over", lambda t: t.first),
                       ("later turns while the bot is paused", lambda t: not t.first)):
        chosen = [t for t in result.turns if pick(t)]
        if not chosen:
            rows.append((name, 0, 0.0, 0.0, 0.0))
            continue
        top1 = [ngram_f1(t.drafts[0], t.agent, n) if t.drafts else 0.0 for t in chosen]
        top3 = [max((ngram_f1(d, t.agent, n) for d in t.drafts[:3]), default=0.0) for t in chosen]
        chance = []
        for t in chosen:
            pool = [text for d, text in others if d != t.dialogue]
            chance.append(ngram_f1(rng.choice(pool), t.agent, n) if pool else 0.0)
        rows.append((name, len(chosen), sum(top1) / len(top1), sum(top3) / len(top3), sum(chance) / len(chance)))
    return rows


def etiquette(result: Replay, policy) -> Dict:
    """How often real agents' replies break the rules: language rules on every reply; the full
    rules for the concern (acknowledge, apologise, follow up, close) on replies to handed-over turns."""
    replies = [r for r in result.agent_replies if r.strip()]
    rules: Counter = Counter()
    broken = 0
    broken_not_close = 0
    for text in replies:
        found = check(text, policy=policy)
        broken += bool(found)
        broken_not_close += any(f.rule != "close.polite" for f in found)
        rules.update({f.rule for f in found})
    full_broken = 0
    full_rules: Counter = Counter()
    for topic, text in result.agent_replies_to_handoffs:
        found = check(text, policy=policy, concern=topic)
        full_broken += bool(found)
        full_rules.update({f.rule for f in found})
    drafts = [d for t in result.turns for d in t.drafts]
    draft_broken = sum(bool(check(d, policy=policy, concern=t.topic)) for t in result.turns for d in t.drafts)
    return {"replies": len(replies), "broken": broken, "broken_not_close": broken_not_close, "rules": rules, "handoff_replies": len(result.agent_replies_to_handoffs),
            "full_broken": full_broken, "full_rules": full_rules, "drafts": len(drafts), "draft_broken": draft_broken}


def print_tables(result: Replay, source: str, policy, out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"Replay of {result.dialogues} real dialogues (../shared/eval/dialogues.jsonl, read in place); NLU: {source}\n")
    p(f"{result.customer_turns} customer turns; {result.handed_over} handed to a person "
      f"({result.handed_over / max(1, result.customer_turns):.0%}); {len(result.turns)} of them answered by a real agent next. "
      f"Drafting took {1000 * result.seconds / max(1, result.customer_turns):.1f} ms per turn (NLU included).\n")
    p("How close the drafts come to what the real agent sent: F1 of shared character n-grams (0–1, spaces and "
      "punctuation ignored); chance = the real reply against an agent reply from another dialogue:\n")
    p("| turns | n | top-1, bigrams | best of top 3, bigrams | chance, bigrams | top-1, characters | best of top 3, characters | chance, characters |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (name, n, top1, top3, chance), (_, _, u1, u3, uc) in zip(closeness(result), closeness(result, n=1)):
        p(f"| {name} | {n} | {top1:.3f} | {top3:.3f} | {chance:.3f} | {u1:.3f} | {u3:.3f} | {uc:.3f} |")
    e = etiquette(result, policy)
    p("\nEtiquette (ETIQUETTE.md §2) — real agents' replies next to our drafts:\n")
    p("| text | n | with at least one finding | most common rules |")
    p("|---|---:|---:|---|")
    top = lambda c: ", ".join(f"{r} {n}" for r, n in c.most_common(4)) or "–"  # noqa: E731
    p(f"| real agent replies, language rules | {e['replies']} | {e['broken']} ({e['broken'] / max(1, e['replies']):.0%}) | {top(e['rules'])} |")
    p(f"| real agent replies, language rules except the polite close | {e['replies']} | {e['broken_not_close']} "
      f"({e['broken_not_close'] / max(1, e['replies']):.0%}) | {top(Counter({r: n for r, n in e['rules'].items() if r != 'close.polite'}))} |")
    p(f"| real replies to handed-over turns, all rules for the concern | {e['handoff_replies']} | {e['full_broken']} "
      f"({e['full_broken'] / max(1, e['handoff_replies']):.0%}) | {top(e['full_rules'])} |")
    p(f"| our drafts for those turns, all rules for the concern | {e['drafts']} | {e['draft_broken']} "
      f"({e['draft_broken'] / max(1, e['drafts']):.0%}) | – |")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialogues", type=Path, default=DIALOGUES)
    parser.add_argument("--no-rasa", action="store_true", help="use the core's cue words instead of the trained model")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not args.dialogues.is_file():
        print(f"replay skipped: {args.dialogues} not found (the evaluation data stays outside the project)")
        return 0
    print(f"command: .venv/bin/python bench/replay.py{' --no-rasa' if args.no_rasa else ''} · {time.strftime('%Y-%m-%d %H:%M')}\n")
    parse, source = cue_parser() if args.no_rasa else rasa_parser()
    policy = load_policy()
    result = replay(load_dialogues(args.dialogues), parse, policy)
    print_tables(result, source, policy)
    return 0


if __name__ == "__main__":
    sys.exit(main())

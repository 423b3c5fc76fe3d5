"""`python -m assist draft|check|lint|acceptance|mine`: the drafting core from a shell or a script.

    python -m assist draft "快递五天了还没到，再不到我就给差评"
    python -m assist draft --intent delivery_delay --facts '{"order_id": "4392018876512093", "days_late": 5}' "..."
    python -m assist check "你好，这个不行"
    python -m assist lint
    cat messages.txt | python -m assist draft - --no-rasa     # one JSON object per line
    python -m assist acceptance            # what agents did with the drafts (Markdown)
    python -m assist mine                  # proposals from agents' decisions → reports/proposals/
    python -m assist mine --apply reports/proposals/nlu.yml   # merge the entries marked approve: true
    python -m assist simulate --store sqlite:///reports/simulation.db   # a scripted agent's decisions, to try the loop

Exit codes: 0 fine; 1 lint found problems, or check found a block finding (with --concern,
which checks a draft, any finding); 2 bad arguments or data files that do not load.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, Iterable, List, Optional, TextIO

from assist.shop.errors import DataError
from assist.builders.cli_learning import cmd_acceptance, cmd_mine, cmd_simulate
from assist.integrations.rasa import RasaClient, RasaUnavailable
from assist.settings import get_settings


def _json_arg(value: Optional[str], name: str, kind: type) -> Any:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise SystemExit(f"--{name}: not valid JSON ({exc})") from exc
    if not isinstance(parsed, kind):
        raise SystemExit(f"--{name}: expected a JSON {kind.__name__}")
    return parsed


def _texts(arg: str, stdin: TextIO) -> Iterable[str]:
    if arg != "-":
        yield arg
        return
    for line in stdin:
        line = line.rstrip("\n")
        if line.strip():
            yield line


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


class _Nlu:
    """Where the intent comes from: --intent, else Rasa, else the core's cue words.
    A Rasa server that failed once is not asked again for the rest of the run."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.down: Optional[str] = None
        self.warned = False
        self.client: Optional[RasaClient] = None

    def parse(self, text: str) -> Dict[str, Any]:
        a = self.args
        if a.intent:
            return {"source": "given", "intent": a.intent, "ranking": None, "entities": None}
        if not a.no_rasa and self.down is None:
            try:
                if self.client is None:
                    self.client = RasaClient(a.rasa or get_settings().rasa_url, get_settings().rasa_api_secret(), a.timeout)
                result = self.client.parse(text)
                return {"source": "rasa", "intent": result.intent, "ranking": result.ranking,
                        "entities": result.entities}
            except RasaUnavailable as exc:
                self.down = str(exc)
        note = "core cue words (--no-rasa)" if a.no_rasa else f"core cue words: {self.down}"
        return {"source": "cues", "intent": None, "ranking": None, "entities": None, "note": note}


def _draft_one(text: str, nlu: _Nlu, args: argparse.Namespace, policy) -> Dict[str, Any]:
    from assist.drafting.composer import compose
    from assist.drafting.situation import build_situation

    parsed = nlu.parse(text)
    situation = build_situation(text, intent=parsed["intent"], intent_ranking=parsed["ranking"],
                                entities=parsed["entities"], history=args.history_list, facts=args.facts_dict,
                                profile=args.profile_dict)
    drafts = compose(situation, policy=policy, seed=args.seed, channel=args.channel)
    nlu_info = {k: v for k, v in parsed.items() if k in ("source", "note")}
    return {"situation": situation.to_dict(), "drafts": [d.to_dict() for d in drafts], "nlu": nlu_info}


def _print_draft(result: Dict[str, Any], out: TextIO) -> None:
    s = result["situation"]
    out.write(f"situation  topic={s['topic']}  concerns={','.join(s['concerns'])}  intent={s['intent']} ({s['intent_source']})\n")
    out.write(f"           mood={s['mood']} (trend {s['mood_trend']})  temperament={s['temperament']}  tone={s['tone']}"
              f"  needs_person={s['needs_person']}\n")
    out.write(f"           urgency={s['urgency']}  [{', '.join(s['urgency_reasons'])}]\n")
    facts = ", ".join(f"{k}={v}" for k, v in s["facts"].items()) or "-"
    out.write(f"           facts: {facts}  missing: {', '.join(s['missing']) or '-'}\n")
    for i, d in enumerate(result["drafts"], 1):
        out.write(f"\n{i}. [{d['score']:.2f}] {d['text']}\n   {d['reason']}  ({d['variant_id']}, {len(d['text'])}字)\n")


def _cmd_draft(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from assist.shop.policy import load_policy

    args.facts_dict = _json_arg(args.facts, "facts", dict)
    args.history_list = _json_arg(args.history, "history", list)
    args.profile_dict = _json_arg(args.profile, "profile", dict)
    policy = load_policy(args.policy)
    nlu = _Nlu(args)
    lines = args.text == "-"
    for text in _texts(args.text, sys.stdin):
        result = _draft_one(text, nlu, args, policy)
        if args.json or lines:
            out.write(_dump(result) + "\n")  # the fallback is the "nlu" field
            continue
        if result["nlu"]["source"] == "cues" and not nlu.warned:
            err.write(f"note: intent from {result['nlu']['note']}\n")
            err.flush()
            nlu.warned = True
        _print_draft(result, out)
    return 0


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from assist.drafting.checker import blocking, check
    from assist.shop.policy import load_policy

    policy = load_policy(args.policy)
    lines = args.text == "-"
    dirty = False
    for text in _texts(args.text, sys.stdin):
        findings = check(text, policy=policy, concern=args.concern, channel=args.channel)
        # An agent's text is held back by block findings only; a draft (--concern) by any.
        dirty = dirty or bool(findings if args.concern else blocking(findings))
        if args.json or lines:
            out.write(_dump({"findings": [f.to_dict() for f in findings]}) + "\n")
        elif not findings:
            out.write("clean: no findings\n")
        else:
            for f in findings:
                start, end = f.span
                out.write(f"{f.rule:<22} {f.severity:<6} [{start},{end}) “{text[start:end]}”  {f.why}\n"
                          f"{'':<29} fix: {f.fix}\n")
    return 1 if dirty else 0


def _cmd_lint(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from assist.drafting.lint import lint

    problems, summary = lint(args.policy, args.replies, args.rules, args.cues)
    for line in summary:
        out.write(line + "\n")
    for problem in problems:
        err.write(str(problem) + "\n")
    if problems:
        err.write(f"lint: {len(problems)} problem(s)\n")
        return 1
    out.write("lint: ok\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assist", description="kefu-assist reply drafting core")
    sub = parser.add_subparsers(dest="command", required=True)

    draft = sub.add_parser("draft", help="situation and ranked drafts for a customer message")
    draft.add_argument("text", help="the customer's message, or - to read one per line from stdin")
    draft.add_argument("--json", action="store_true", help="print JSON")
    draft.add_argument("--intent", help="skip NLU and use this intent")
    draft.add_argument("--facts", help='order facts as JSON, e.g. \'{"order_id": "123", "days_late": 5}\'')
    draft.add_argument("--history", help="earlier customer messages as a JSON list, oldest first")
    draft.add_argument("--profile", help='customer profile as JSON, e.g. \'{"vip": true, "honorific": "女士"}\'')
    draft.add_argument("--rasa", help="Rasa server URL (default: $KEFU_RASA_URL, http://127.0.0.1:5005)")
    draft.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for Rasa")
    draft.add_argument("--no-rasa", action="store_true", help="do not ask Rasa; use the core's cue words")
    draft.add_argument("--seed", type=int, default=0, help="varies the wording, deterministically")
    draft.add_argument("--channel", help="output channel (emoji rules), e.g. socketio")
    draft.add_argument("--policy", help="policy file (default: $KEFU_POLICY or assist/shop/policy.yml)")
    draft.set_defaults(run=_cmd_draft)

    chk = sub.add_parser("check", help="etiquette and shop-policy findings (block or advice) for a text")
    chk.add_argument("text", help="the text, or - to read one per line from stdin")
    chk.add_argument("--json", action="store_true", help="print JSON")
    chk.add_argument("--concern", help="check as a draft for this concern (complaint, delivery_delay ...)")
    chk.add_argument("--channel", help="output channel (emoji rules)")
    chk.add_argument("--policy", help="policy file")
    chk.set_defaults(run=_cmd_check)

    lint = sub.add_parser("lint", help="validate templates, policy, rules and cues; non-zero on a problem")
    lint.add_argument("--policy", help="policy file")
    lint.add_argument("--replies", help="folder of reply templates (default assist/shop/replies)")
    lint.add_argument("--rules", help="etiquette rules file")
    lint.add_argument("--cues", help="cue words file")
    lint.set_defaults(run=_cmd_lint)

    acc = sub.add_parser("acceptance", help="what agents did with the drafts: per release, concern and variant (Markdown)")
    acc.add_argument("--store", help="suggestion store URL (default: $KEFU_STORE_URL or .kefu/suggestions.db)")
    acc.add_argument("--days", type=float, help="only decisions of the last N days")
    acc.add_argument("--json", action="store_true", help="the learned scores as JSON")
    acc.add_argument("--policy", help="policy file")
    acc.set_defaults(run=cmd_acceptance)

    mine = sub.add_parser("mine", help="propose reply variants and NLU examples from agents' decisions, for review")
    mine.add_argument("--store", help="suggestion store URL (default: $KEFU_STORE_URL or .kefu/suggestions.db)")
    mine.add_argument("--out", default="reports/proposals", help="folder for the proposal files (default reports/proposals)")
    mine.add_argument("--data", default="data", help="the Rasa data folder (default data)")
    mine.add_argument("--eval", help="held-out evaluation folder never to propose from (default: $KEFU_EVAL_DIR or ../shared/eval)")
    mine.add_argument("--days", type=float, help="only decisions of the last N days")
    mine.add_argument("--min-support", type=int, default=3, help="edits needed before a variant is proposed (default 3)")
    mine.add_argument("--unsure-below", type=float, default=0.6, help="NLU confidence below which a message is proposed (default 0.6)")
    mine.add_argument("--apply", metavar="FILE", help="merge the entries of FILE marked approve: true into data/ or assist/shop/replies/")
    mine.add_argument("--replies", help="reply templates folder for --apply (default assist/shop/replies)")
    mine.set_defaults(run=cmd_mine)

    sim = sub.add_parser("simulate", help="a scripted agent decides on generated cases (assist/builders/simulation.py), to try the loop")
    sim.add_argument("--store", default="sqlite:///reports/simulation.db", help="where to write the decisions (default reports/simulation.db; "
                     "never point it at the live store)")
    sim.add_argument("--cases", type=int, default=400)
    sim.add_argument("--seed", type=int, default=11)
    sim.add_argument("--no-learning", action="store_true", help="rank drafts by the rules only")
    sim.set_defaults(run=cmd_simulate)
    return parser


def main(argv: Optional[List[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args, out, err)
    except DataError as exc:
        err.write(f"{exc}\n")
        return 2
    except SystemExit as exc:
        if isinstance(exc.code, str):
            err.write(exc.code + "\n")
            return 2
        raise

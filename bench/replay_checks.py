"""The pure pieces of bench/replay.py: which facts a reply asks for and which the customer gave,
the figures over the recorded turns, and the tables (counts and shares only, never a text).

A turn record is the dict bench/replay.py writes to reports/replay/turns.jsonl; these functions
read only its fields `dialogue`, `role`, `text`, `bot`, `pushed`, `case_open`, `reading`, `drafts`,
`agent_next`, `heldout_labels`, `nlu`, `flags`.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set

FACTS = ("order_id", "waybill", "phone", "address", "product")
# Dialogues whose intents_present include one of these need a person (JUDGING.md, the brief).
PERSON_INTENTS = frozenset({"complaint", "delivery_delay", "price_haggle", "refund_return", "request_human"})
# Label names of the eval data that are not intent names (eval/README.md): mapped or scored on mood.
LABEL_ALIASES = {"product_question": "product_inquiry"}
MOOD_LABELS = {"angry_abusive": ("angry", "abusive")}

# ---- what the customer gave ----------------------------------------------------------------------
_MASK = re.compile(r"\[([^\[\]\dx]{1,6})x\]")
_MASK_FACT = {"订单": "order_id", "数字": "order_id", "单号": "order_id", "运单": "waybill", "快递单": "waybill",
              "电话": "phone", "手机": "phone", "联系方式": "phone", "地址": "address", "链接": "product", "商品": "product"}
_DIGITS = re.compile(r"(?<![\dA-Za-z])\d{6,}(?!\d)")
_PHONE = re.compile(r"1[3-9]\d{9}")
_WAYBILL_WORD = re.compile(r"(运单|快递单|物流单|快递)号?(是|为)?[：:\s]*$")
_CARRIER_CODE = re.compile(r"(?<![A-Za-z])(SF|JD|JDV|YT|ZTO|STO|YD|EMS|JT|DPK)\d{8,}", re.I)
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{2,}(省|市|区|县)[\u4e00-\u9fff\d]{0,20}(路|街|道|村|镇|小区|号|栋|楼|室)"
                      r"|(收货)?地址[是为：:]\s*\S{4,}")
# 3盒茶叶, 2双袜子: a count and a measure word before a noun (not before 了/的/是/好 …: 这是第三个了)
_COUNTED_GOODS = re.compile(r"(\d+|[两三四五六七八九十几]+)(个|件|罐|份|支|套|双|瓶|盒|箱|袋|台|部|条|包|斤)"
                            r"(?=[\u4e00-\u9fff])(?![了的是好也都就还吗呢吧啊呀有我你他她这那开送一不没用要能可会再才又在给让被把和跟说多])")
# A number mask before a unit is a time, a date or a quantity, not an order number: [数字x]点, [数字x]天
_MASK_UNIT = re.compile(r"\s*(点|号|日|月|年|天|分|秒|小时|个|元|块|岁|斤|件|份|次|楼|%|％)")


def given(texts: Iterable[str], products: Sequence[str] = (), masks: bool = True) -> Set[str]:
    """The facts present in the customer's texts. The corpus' masks count as given ([订单x] is an
    order number the corpus hid; [数字x] too, unless a unit follows); `masks=False`: only what the
    stack could read itself. `products` are the shop's product words (the NLU lookup)."""
    found: Set[str] = set()
    for text in texts:
        text = text or ""
        for mask in _MASK.finditer(text) if masks else ():
            fact = next((f for word, f in _MASK_FACT.items() if word in mask.group(1)), None)
            if fact and not (mask.group(1) == "数字" and _MASK_UNIT.match(text, mask.end())):
                found.add(fact)
        for match in _DIGITS.finditer(text):
            number, before = match.group(), text[max(0, match.start() - 8):match.start()]
            if _WAYBILL_WORD.search(before):
                found.add("waybill")
            elif _PHONE.fullmatch(number):
                found.add("phone")
            else:
                found.add("order_id")
        if _CARRIER_CODE.search(text):
            found.add("waybill")
        if _ADDRESS.search(text):
            found.add("address")
        if _COUNTED_GOODS.search(text) or any(p and p in text for p in products):
            found.add("product")
    return found


# ---- what a reply asks for -----------------------------------------------------------------------
_NOUNS = [  # order matters: a waybill's 单号 is not the order's
    ("waybill", r"运单号|快递单号|物流单号|快递号|运单编号|物流编号"),
    ("order_id", r"订单号|订单编号|订单号码|(?<![运递流])单号|哪[一个]?[个笔单]?订单|订单信息"),
    ("phone", r"手机号|电话号码|联系电话|联系方式|电话"),
    ("address", r"收货地址|详细地址|地址"),
    ("product", r"哪[一个]?款|哪[一个]?件|哪[个种]商品|哪个宝贝|什么商品|商品链接|宝贝链接|链接|型号|商品名称|哪个产品"),
]
_CLAUSE = re.compile(r"[^，,。！!；;？?\n]+[？?]?")
_REQUEST = re.compile(r"(?<!已)(?<!已经)(提供|告知|告诉|发一下|发下|发给|发我|发送|发个|报一下|报下|说一下|说下|留一下|留下|输入|填写|"
                      r"回复|私信|贴一下|给一下|给我|核对一下|确认一下|补充)(?!的)")
_POLITE_START = re.compile(r"^\s*(麻烦|请|烦请|辛苦|劳烦|方便)")
_VALUE_AFTER = re.compile(r"^\s*(是|为)?\s*[：:]?\s*(\d|[A-Za-z]{2}\d|\[|\{)")
_QUESTION_WORDS = re.compile(r"多少|什么|哪|吗|呢")


def asks_for(text: str) -> Set[str]:
    """The facts a reply asks the customer for: a clause that names the fact (订单号, 地址, 哪一款 …),
    not followed by its value, and asks (提供/发一下/告诉…, a clause opening with 麻烦/请, or a question)."""
    asked: Set[str] = set()
    for clause in _CLAUSE.findall(text or ""):
        rest = clause
        for fact, nouns in _NOUNS:
            for match in re.finditer(nouns, rest):
                if _VALUE_AFTER.match(rest[match.end():]):
                    continue  # 运单号 SF140… states the number, it does not ask for it
                question = clause.rstrip().endswith(("？", "?")) and _QUESTION_WORDS.search(clause)
                if _REQUEST.search(clause) or _POLITE_START.match(clause) or question:
                    asked.add(fact)
            rest = re.sub(nouns, "　", rest)  # a noun counts for one fact only
    return asked


def repeated_asks(reply: str, customer_texts: Sequence[str], products: Sequence[str] = ()) -> List[str]:
    """The facts `reply` asks for that the customer already gave in `customer_texts`."""
    return sorted(asks_for(reply) & given(customer_texts, products))


# ---- closeness to the real agent's words (secondary) ---------------------------------------------
_NOT_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
_CORPUS_MASK = re.compile(r"\[[^\[\]]{1,8}x\]")


def ngram_f1(a: str, b: str, n: int = 2) -> float:
    """F1 of character n-gram overlap (ROUGE-n on characters), punctuation, spaces and masks ignored."""
    x, y = (_NOT_TEXT.sub("", _CORPUS_MASK.sub("", t or "")) for t in (a, b))
    ga = Counter(x[i:i + n] for i in range(len(x) - n + 1))
    gb = Counter(y[i:i + n] for i in range(len(y) - n + 1))
    overlap = sum((ga & gb).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(ga.values()), overlap / sum(gb.values())
    return 2 * precision * recall / (precision + recall)


def agent_run(turns: Sequence[Mapping], start: int) -> List[Mapping]:
    """The agent turns from `start` up to the next turn of someone else."""
    run = []
    for turn in turns[start:]:
        if turn.get("role") != "agent":
            break
        run.append(turn)
    return run


def event_parse(event: Optional[Mapping]) -> Dict:
    """The NLU reading of a Rasa user event: intent and confidence."""
    intent = ((event or {}).get("parse_data") or {}).get("intent") or {}
    return {"intent": intent.get("name"), "confidence": intent.get("confidence")}


# ---- per-turn flags and the figures --------------------------------------------------------------
def is_silent(turn: Mapping) -> bool:
    """A customer turn that got no answer (no bot reply, nothing pushed) while nobody owned it."""
    return turn.get("role") == "customer" and not turn.get("case_open") and not any(
        (t or "").strip() for t in list(turn.get("bot") or []) + [p.get("text") for p in turn.get("pushed") or []])


def needs_person(intents_present: Iterable[str]) -> bool:
    return bool(PERSON_INTENTS & set(intents_present or ()))


def label_agreement(turn: Mapping) -> List[Dict]:
    """One row per held-out label of a customer turn: whether the case's concerns hold it."""
    rows = []
    reading = turn.get("reading") or {}
    concerns = list(reading.get("concerns") or [])
    for label in turn.get("heldout_labels") or ():
        intent = LABEL_ALIASES.get(label.get("intent"), label.get("intent"))
        row = {"label": intent, "case": bool(turn.get("case_open")), "nlu": (turn.get("nlu") or {}).get("intent")}
        if intent in MOOD_LABELS:
            row.update(kind="mood", held=row["case"] and reading.get("mood") in MOOD_LABELS[intent], primary=None)
        else:
            row.update(kind="intent", held=intent in concerns, primary=bool(concerns) and concerns[0] == intent)
        rows.append(row)
    return rows


def _share(n: int, of: int) -> str:
    return f"{n} / {of} ({n / of:.0%})" if of else "0 / 0"


def figures(turns: Sequence[Mapping], dialogues: Sequence[Mapping], seconds: float = 0.0, seed: int = 7) -> Dict:
    """Every figure of the replay's tables, from the turn records and the dialogues' metadata
    (`id`, `intents_present`)."""
    customer = [t for t in turns if t.get("role") == "customer"]
    handed = [t for t in customer if t.get("case_open")]
    by_dialogue: Dict[str, List[Mapping]] = {}
    for t in customer:
        by_dialogue.setdefault(t["dialogue"], []).append(t)
    cases = {(t["dialogue"], (t.get("reading") or {}).get("id")) for t in handed}
    closed = sum(not b.get("case_open") and a.get("case_open") for ts in by_dialogue.values() for a, b in zip(ts, ts[1:]))
    need = [d for d in dialogues if needs_person(d.get("intents_present"))]
    angry = [d for d in dialogues if "angry_abusive" in (d.get("intents_present") or ()) and d not in need]
    neither = [d for d in dialogues if d not in need and d not in angry]
    with_case = lambda ds: sum(any(t.get("case_open") for t in by_dialogue.get(d["id"], ())) for d in ds)  # noqa: E731
    repeats = lambda t, key="repeated", top=False: any(  # noqa: E731
        d.get(key) and (not top or d.get("rank") == 1) for d in (t.get("flags") or {}).get("drafts_repeat", []))
    rep_any, rep_top = [t for t in handed if repeats(t)], [t for t in handed if repeats(t, top=True)]
    bot_turns = [t for t in customer if not t.get("case_open")]
    bot_said = [t for t in customer if any((x or "").strip() for x in t.get("bot") or ()) or t.get("pushed")]
    rep_bot = [t for t in bot_said if (t.get("flags") or {}).get("bot_repeat")]
    rows = [r for t in customer for r in label_agreement(t)]
    intent_rows = [r for r in rows if r["kind"] == "intent"]
    mood_rows = [r for r in rows if r["kind"] == "mood"]
    no_case_rows = [r for r in intent_rows if not r["case"]]
    rng = random.Random(seed)
    pool = [(t["dialogue"], t["agent_next"]) for t in customer if (t.get("agent_next") or "").strip()]
    scored = [t for t in handed if (t.get("agent_next") or "").strip() and t.get("drafts")]
    top = [ngram_f1(t["drafts"][0]["text"], t["agent_next"]) for t in scored]
    best = [max(ngram_f1(d["text"], t["agent_next"]) for d in t["drafts"]) for t in scored]
    chance = []
    for t in scored:
        others = [text for d, text in pool if d != t["dialogue"]]
        chance.append(ngram_f1(rng.choice(others), t["agent_next"]) if others else 0.0)
    mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
    return {
        "dialogues": len(dialogues), "customer_turns": len(customer), "bot_turns": len(bot_turns),
        "handed_turns": len(handed), "cases": len(cases),
        "closed": closed, "unprocessed": sum(1 for t in customer if (t.get("flags") or {}).get("processed") != "ok"),
        "silent": sum(is_silent(t) for t in customer),
        "agent_sends": sum(1 for t in turns if t.get("role") == "agent" and t.get("sent") == "delivered"),
        "agent_send_failed": sum(1 for t in turns if t.get("role") == "agent" and t.get("sent") not in (None, "delivered", "merged")),
        "repeat_any": len(rep_any), "repeat_top": len(rep_top), "repeat_bot": len(rep_bot), "bot_said": len(bot_said),
        "repeat_any_readable": sum(repeats(t, "readable") for t in handed),
        "repeat_bot_readable": sum(bool((t.get("flags") or {}).get("bot_repeat_readable")) for t in bot_said),
        "repeat_facts": Counter(f for t in handed for d in t["flags"].get("drafts_repeat", []) for f in d.get("repeated", ())),
        "need": len(need), "need_case": with_case(need), "angry": len(angry), "angry_case": with_case(angry),
        "no_need_case": with_case(neither), "no_need": len(neither),
        "labels": len(intent_rows), "labels_case": sum(r["case"] for r in intent_rows),
        "labels_held": sum(bool(r["held"]) for r in intent_rows), "labels_primary": sum(bool(r["primary"]) for r in intent_rows),
        "labels_no_case": len(no_case_rows), "labels_no_case_nlu": sum(r["nlu"] == r["label"] for r in no_case_rows),
        "mood_labels": len(mood_rows), "mood_held": sum(bool(r["held"]) for r in mood_rows),
        "f1_n": len(scored), "f1_top": mean(top), "f1_best": mean(best), "f1_chance": mean(chance),
        "seconds": seconds,
    }


def tables(f: Mapping) -> List[str]:
    """The replay's tables as Markdown lines: counts and shares only."""
    p = lambda n: f"{n / f['customer_turns']:.0%}" if f["customer_turns"] else "–"  # noqa: E731
    out = [
        "| dialogues | customer turns | bot-only turns | handed-over turns | cases opened | real agent replies inserted |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {f['dialogues']} | {f['customer_turns']} | {f['bot_turns']} ({p(f['bot_turns'])}) | {f['handed_turns']} "
        f"({p(f['handed_turns'])}) | {f['cases']} | {f['agent_sends']} (failed: {f['agent_send_failed']}) |",
        "",
        "| check | count |",
        "|---|---:|",
        f"| silent turns (no bot reply, no case open) | {f['silent']} |",
        f"| handed-over turns whose drafts ask for a fact already given: any draft | {_share(f['repeat_any'], f['handed_turns'])} |",
        f"| … the top draft | {_share(f['repeat_top'], f['handed_turns'])} |",
        f"| … any draft, the fact given in words or digits the stack could read (not only a corpus mask) | {_share(f['repeat_any_readable'], f['handed_turns'])} |",
        f"| turns where the bot's reply asks for a fact already given (of turns with a bot reply) | {_share(f['repeat_bot'], f['bot_said'])} |",
        f"| … the fact given in words or digits the stack could read | {_share(f['repeat_bot_readable'], f['bot_said'])} |",
        f"| facts asked again, counted per draft (all ranks) | {', '.join(f'{k} {v}' for k, v in sorted(f['repeat_facts'].items())) or '–'} |",
        f"| customer turns that closed the open case (the wait was cancelled) | {f['closed']} |",
        f"| customer turns not confirmed processed within the timeout | {f['unprocessed']} |",
        "",
        "| dialogues | n | got a case |",
        "|---|---:|---:|",
        f"| need a person (complaint, delivery_delay, price_haggle, refund_return, request_human) | {f['need']} | {_share(f['need_case'], f['need'])} |",
        f"| angry/abusive only (not in the list above) | {f['angry']} | {_share(f['angry_case'], f['angry'])} |",
        f"| neither (e.g. order status only) | {f['no_need']} | {_share(f['no_need_case'], f['no_need'])} |",
        "",
        "| held-out labels on customer turns | count |",
        "|---|---:|",
        f"| intent labels | {f['labels']} |",
        f"| … a case was open at that turn | {_share(f['labels_case'], f['labels'])} |",
        f"| … the case's concerns contain the label (share of all labels) | {_share(f['labels_held'], f['labels'])} |",
        f"| … the case's primary concern is the label | {_share(f['labels_primary'], f['labels'])} |",
        f"| … no case: the bot's NLU intent is the label | {_share(f['labels_no_case_nlu'], f['labels_no_case'])} |",
        f"| angry_abusive labels: a case open with mood angry or abusive | {_share(f['mood_held'], f['mood_labels'])} |",
        "",
        f"Secondary: character-bigram F1 against the real agent's next reply over {f['f1_n']} handed-over turns: "
        f"top draft {f['f1_top']:.3f}, best draft {f['f1_best']:.3f}, chance {f['f1_chance']:.3f} "
        "(a real reply from another dialogue).",
        "",
        f"The replay took {f['seconds']:.0f} s.",
    ]
    return out

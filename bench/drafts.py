"""Benchmark the drafting core: situation + drafts + check, and mood on real text.

    python bench/drafts.py                 # 3000 generated situations, seed 7
    python bench/drafts.py --n 5000 --seed 1

Prints latency percentiles per step and throughput, then the mood figures on
../shared/eval/nlu_eval.tsv (read in place, never copied; skipped when absent).
Generated messages come from this file's own phrase lists; per-message caches are
cleared before each timing, so every message is costed as if never seen.
"""
from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assist.drafting import mood as mood_module  # noqa: E402
from assist.drafting import situation as situation_module  # noqa: E402
from assist.drafting.checker import check  # noqa: E402
from assist.drafting.composer import compose  # noqa: E402
from assist.shop.cues import load_cues  # noqa: E402
from assist.shop.policy import load_policy  # noqa: E402
from assist.settings import get_settings  # noqa: E402
from assist.drafting.situation import build_situation  # noqa: E402
from assist.shop.templates import load_templates  # noqa: E402

EVAL_FILE = get_settings().eval_messages

# Phrases written for this benchmark, by concern; combined with openers, heat and facts.
PHRASES: Dict[str, Sequence[str]] = {
    "delivery_delay": ["快递{n}天了还没到", "怎么还没发货", "物流{n}天没更新了", "催一下我的包裹", "说好的两天到，现在都{n}天了",
                       "包裹一直停在中转站不动"],
    "complaint": ["收到的碗碎了两个", "客服态度太差了", "发错颜色了", "质量太差，用了一次就坏了", "少发了一件"],
    "price_haggle": ["能便宜{n}块吗", "打个八折吧", "包邮吗，两件能不能少点", "太贵了，{n}元卖不卖", "老顾客有优惠券吗"],
    "refund_return": ["我要退货", "退款什么时候到账", "尺码不合适想换货", "东西坏了要退款", "能七天无理由吗"],
    "request_human": ["转人工", "我要找真人客服", "是机器人吗，叫你们主管来"],
    "order_status": ["我的快递到哪了", "什么时候发货", "帮我查一下订单"],
    "product_inquiry": ["这个是什么材质的", "有没有大一码的", "是正品吗"],
    "social": ["你好", "在吗", "谢谢", "好的", "再见"],
}
OPENERS = ["", "你好，", "亲，", "在吗？", "客服，"]
HEAT = ["", "", "！", "！！！", "，气死我了", "，再不处理我就给差评", "，我要投诉到平台", "，你们是骗子吗", "😡", "，急用啊",
        "？？", "，因为页面写着48小时发货，按道理应该早就发了", "，不赔三倍我就去12315"]
CARRIERS = ["中通快递", "圆通速递", "顺丰速运", None]
PRODUCTS = ["珊瑚绒四件套", "保温杯", "儿童雨衣", "蓝牙耳机", None]


def make_case(rng: random.Random) -> Dict:
    concern = rng.choice(list(PHRASES))
    text = rng.choice(OPENERS) + rng.choice(PHRASES[concern]).format(n=rng.randint(2, 15)) + rng.choice(HEAT)
    if rng.random() < 0.1:
        text = text * rng.randint(2, 6)  # long, repetitive messages
    if rng.random() < 0.05:
        text = "<b>" + text + "</b>"
    facts = {}
    if rng.random() < 0.6:
        facts["order_id"] = str(rng.randint(10**15, 10**16 - 1))
        facts["status"] = rng.choice(["paid", "shipped", "in_transit", "delivered"])
        carrier = rng.choice(CARRIERS)
        if carrier:
            facts["carrier"] = carrier
        if rng.random() < 0.5:
            facts["days_late"] = rng.randint(0, 9)
    product = rng.choice(PRODUCTS)
    if product:
        facts["product"] = product
    history = [rng.choice(PHRASES[concern]).format(n=rng.randint(2, 9)) for _ in range(rng.randint(0, 3))]
    profile = {"vip": rng.random() < 0.2}
    if rng.random() < 0.3:
        profile.update(honorific=rng.choice(["先生", "女士"]), surname=rng.choice(["王", "李", "欧阳"]))
    intent = concern if concern != "social" and rng.random() < 0.5 else None
    return {"text": text, "intent": intent, "facts": facts, "history": history, "profile": profile}


def _clear_caches() -> None:
    situation_module._norm.cache_clear()
    situation_module._guesses.cache_clear()
    mood_module._read_mood.cache_clear()


def percentile(values: List[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def run_latency(n: int, seed: int) -> None:
    started = time.perf_counter()
    policy = load_policy()
    templates = load_templates(policy=policy)
    cues = load_cues()
    load_ms = (time.perf_counter() - started) * 1000
    rng = random.Random(seed)
    cases = [make_case(rng) for _ in range(n)]
    for case in cases[:50]:  # warm the interpreter, not the per-message caches
        compose(build_situation(**case), policy=policy, templates=templates)

    steps: Dict[str, List[float]] = {"situation": [], "compose (incl. check)": [], "check (one draft)": [], "total": []}
    draft_counts = []
    wall = time.perf_counter()
    for case in cases:
        _clear_caches()
        t0 = time.perf_counter()
        situation = build_situation(**case, cues=cues)
        t1 = time.perf_counter()
        drafts = compose(situation, policy=policy, templates=templates, cues=cues)
        t2 = time.perf_counter()
        check(drafts[0].text, policy=policy, concern=situation.topic)
        t3 = time.perf_counter()
        steps["situation"].append((t1 - t0) * 1000)
        steps["compose (incl. check)"].append((t2 - t1) * 1000)
        steps["check (one draft)"].append((t3 - t2) * 1000)
        steps["total"].append((t2 - t0) * 1000)
        draft_counts.append(len(drafts))
    elapsed = time.perf_counter() - wall

    print(f"Drafting latency over {n} generated situations (seed {seed}); data files loaded in {load_ms:.0f} ms\n")
    print("| step | p50 ms | p95 ms | p99 ms | mean ms |")
    print("|---|---:|---:|---:|---:|")
    for name, values in steps.items():
        print(f"| {name} | {percentile(values, 50):.3f} | {percentile(values, 95):.3f} | "
              f"{percentile(values, 99):.3f} | {statistics.mean(values):.3f} |")
    total = steps["total"]
    print(f"\nthroughput: {n / elapsed:.0f} messages/s on one core (situation + drafts + check + the extra check)")
    print(f"drafts per message: min {min(draft_counts)}, max {max(draft_counts)}")
    verdict = "meets" if percentile(total, 95) < 2.0 else "MISSES"
    print(f"goal p95 < 2 ms for situation + drafts + check: {verdict} ({percentile(total, 95):.3f} ms)")


def run_mood(path: Path) -> Optional[Dict[str, float]]:
    if not path.is_file():
        print(f"\nmood on real text: skipped, {path} not found (it stays outside the project)")
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    abusive = [r for r in rows if r.get("mood") == "abusive"]
    calm_rows = [r for r in rows if r.get("intent") in ("greet", "thanks", "order_status")]
    heated = sum(1 for r in abusive if build_situation(r["text"]).mood in ("angry", "abusive"))
    calm = sum(1 for r in calm_rows if build_situation(r["text"]).mood == "calm")
    print(f"\nMood on real text ({path.name}, read in place)\n")
    print("| rows | n | share as expected | goal |")
    print("|---|---:|---:|---:|")
    a = heated / len(abusive) if abusive else float("nan")
    c = calm / len(calm_rows) if calm_rows else float("nan")
    print(f"| mood = abusive → angry or abusive | {len(abusive)} | {a:.1%} ({heated}/{len(abusive)}) | ≥ 90 % |")
    print(f"| intent greet/thanks/order_status → calm | {len(calm_rows)} | {c:.1%} ({calm}/{len(calm_rows)}) | ≥ 90 % |")
    return {"abusive_heated": a, "social_calm": c}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="generated situations to time")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--eval", type=Path, default=EVAL_FILE, help="nlu_eval.tsv for the mood figures")
    args = parser.parse_args(argv)
    print(f"command: python bench/drafts.py --n {args.n} --seed {args.seed}  (python {sys.version.split()[0]})\n")
    run_latency(args.n, args.seed)
    run_mood(args.eval)
    return 0


if __name__ == "__main__":
    sys.exit(main())

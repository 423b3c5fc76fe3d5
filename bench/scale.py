"""Scale-out benchmark: how many customer messages per second the agent-assist loop sustains with
message → case p95 under a bound, on 1 instance with SQLite, 1 on PostgreSQL + Redis and 2 on
PostgreSQL + Redis (an instance: a Rasa server, an action server and a console), with agents
approving on every console; then p50/p95 at one fixed offered load for each, the 2-vs-1 ratio on
PostgreSQL, and the CPU each process used at that load.

    .venv/bin/python bench/scale.py [--rates 1,2,3,4,6,8,12,16] [--step-seconds 20] [--fixed-rate 3]

The harness is kefu_rasa/dev/scale_*.py (the same as tests/scale/); each setup gets a fresh
PostgreSQL cluster and Redis (kefu_rasa/dev/services.py). A machine shared with other work gives
lower figures and a noisy ratio: the CPU table says how much of the machine the stack had.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from kefu_rasa.dev.model_cache import ensure_model  # noqa: E402
from kefu_rasa.dev.scale_bench import idle_cpu, offered_step, sustained_rate  # noqa: E402
from kefu_rasa.dev.scale_cluster import start_cluster  # noqa: E402
from kefu_rasa.dev.scale_load import ScaleInbox  # noqa: E402
from kefu_rasa.dev.services import start_postgres, start_redis  # noqa: E402

SETUPS = {"sqlite-1": ("1 instance, SQLite", 1, False), "pg-1": ("1 instance, PostgreSQL + Redis", 1, True),
          "pg-2": ("2 instances, PostgreSQL + Redis", 2, True)}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_setup(model, key: str, args) -> dict:
    title, instances, production = SETUPS[key]
    postgres = redis = None
    if production:
        postgres, redis = start_postgres(), start_redis()
        if postgres is None or redis is None:
            raise SystemExit("PostgreSQL or Redis is not installed: scripts/install_services.sh installs them")
    inbox = ScaleInbox()
    log(f"{title}: starting…")
    cluster = start_cluster(model, Path(tempfile.mkdtemp(prefix=f"kefu-scale-{key}-")), instances, inbox,
                            postgres=postgres, redis=redis)
    try:
        # The fixed load first: after the search's last (overloading) step a backlog would still be draining.
        log(f"  fixed load {args.fixed_rate:g}/s for {args.fixed_seconds:g} s…")
        offered_step(cluster, args.fixed_rate, min(args.fixed_seconds, 10), args.messages, seed=6)  # warm-up
        time.sleep(3)  # the warm-up's last replies and deliveries
        log(f"  idle for {args.idle_seconds:g} s…")
        idle = idle_cpu(cluster, args.idle_seconds)
        fixed = offered_step(cluster, args.fixed_rate, args.fixed_seconds, args.messages, seed=7)
        log(f"  fixed {fixed.line()}")
        sustained, steps = sustained_rate(cluster, args.rates, args.step_seconds, args.bound_ms, args.messages, log=log)
    finally:
        cluster.stop()
        inbox.close()
        for service in (redis, postgres):
            if service:
                service.close()
    return {"title": title, "sustained": sustained, "steps": steps, "fixed": fixed, "idle": idle}


def median(values):
    return statistics.median(values) if values else float("nan")


def ceiling(step, per_process: bool, idle=None) -> float:
    """Messages per second at which the CPU would run out, extrapolated from the step's CPU shares.

    Without `idle`, CPU is taken as proportional to the rate (rate ÷ share). With it, each process's
    idle share (its workers' polling, paid at any rate) is the base, and only the share above it grows
    with the rate: rate × (1 − idle) ÷ (share − idle)."""
    idle = idle or {}
    shares = {role: share for role, share in step.cpu.items() if role != "load generator" and share > 0}
    if not shares:
        return float("nan")
    if per_process:
        ceilings = [step.achieved * (1 - idle.get(role, 0.0)) / (share - idle.get(role, 0.0))
                    for role, share in shares.items()
                    if role.split("-")[0] in ("rasa", "actions", "console") and share > idle.get(role, 0.0)]
        return min(ceilings) if ceilings else float("nan")
    base = sum(idle.get(role, 0.0) for role in shares)
    return step.achieved * ((os.cpu_count() or 1) - base) / (sum(shares.values()) - base)


def print_report(results: dict, args) -> None:
    print("# Scale-out benchmark — one and two instances of the agent-assist loop\n")
    print(f"command: `.venv/bin/python bench/scale.py --rates {','.join(f'{r:g}' for r in args.rates)} "
          f"--step-seconds {args.step_seconds:g} --messages {args.messages} --fixed-rate {args.fixed_rate:g} --fixed-seconds {args.fixed_seconds:g}` · "
          f"{time.strftime('%Y-%m-%d %H:%M')} · {os.cpu_count()} cores\n")
    print(f"Sustained: the highest offered rate of customer messages (REST shoppers, {args.messages} messages each, agents "
          f"approving on every console) whose step kept message → case p95 ≤ {args.bound_ms:g} ms, achieved ≥ 90 % of "
          f"it and lost nothing (after a warm-up step; the search stops at two failing steps in a row). Fixed: every setup at {args.fixed_rate:g} messages/s.\n")
    print("| setup | sustained msg/s | message→case p50 / p95 ms | approve→delivered p50 / p95 ms | achieved msg/s |")
    print("|---|---:|---:|---:|---:|")
    for result in results.values():
        f = result["fixed"]
        print(f"| {result['title']} | {result['sustained']:g} | {median(f.to_case_ms):.0f} / {f.p(f.to_case_ms, 0.95):.0f} | "
              f"{median(f.to_deliver_ms):.0f} / {f.p(f.to_deliver_ms, 0.95):.0f} | {f.achieved:.1f} |")
    if "pg-1" in results and "pg-2" in results:
        one, two = results["pg-1"], results["pg-2"]
        ratio = f"**{two['sustained'] / one['sustained']:.2f}×**" if one["sustained"] else "n/a (1 instance sustained no step)"
        budget = ceiling(two["fixed"], per_process=True) / ceiling(one["fixed"], per_process=True)
        above = (ceiling(two["fixed"], True, two["idle"]) / ceiling(one["fixed"], True, one["idle"]))
        print(f"\n2 instances vs 1 on PostgreSQL: {ratio} the sustained rate (goal ≥ 1.5×); on the per-process CPU "
              f"budget (each Python process at most one core): **{above:.2f}×** counting each process's idle "
              f"share as its base, {budget:.2f}× taking CPU as proportional to the rate.")
    print("\nCPU ceilings from the fixed load: *per process* — the rate at which the busiest single-threaded process "
          "(Rasa, action server, console) would fill its one core; *machine* — the rate at which the whole stack would "
          f"fill this machine's {os.cpu_count()} cores. *Above idle*: what a process uses with no load (its workers' "
          "polling) is its base and only the rest grows with the rate; *proportional*: rate ÷ CPU share.\n")
    print("| setup | stack CPU ms per message · idle stack % of a core | ceiling per process msg/s, above idle · "
          "proportional | ceiling on the machine msg/s, above idle · proportional |")
    print("|---|---:|---:|---:|")
    for result in results.values():
        f, idle = result["fixed"], result["idle"]
        stack = sum(v for role, v in f.cpu.items() if role != "load generator")
        base = sum(v for role, v in idle.items() if role != "load generator")
        print(f"| {result['title']} | {stack / f.achieved * 1000:.0f} · {base * 100:.0f} % | "
              f"{ceiling(f, True, idle):.1f} · {ceiling(f, per_process=True):.1f} | "
              f"{ceiling(f, False, idle):.1f} · {ceiling(f, per_process=False):.1f} |")
    print("\nCPU at the fixed load · idle, share of one core per process (from /proc/<pid>/stat, process groups included):\n")
    roles = sorted({role for result in results.values() for role in result["fixed"].cpu})
    print("| process | " + " | ".join(r["title"] for r in results.values()) + " |")
    print("|---|" + "---:|" * len(results))
    for role in roles:
        print(f"| {role} | " + " | ".join(f"{r['fixed'].cpu[role] * 100:.0f} % · {r['idle'].get(role, 0) * 100:.0f} %"
                                          if role in r["fixed"].cpu else "—" for r in results.values()) + " |")
    print("| all | " + " | ".join(f"{sum(r['fixed'].cpu.values()) * 100:.0f} % of {os.cpu_count() * 100} %"
                                   for r in results.values()) + " |")
    print("\nSteps of the search:\n")
    for result in results.values():
        for step in result["steps"]:
            print(f"- {result['title']}: {step.line()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=lambda s: [float(r) for r in s.split(",")], default=[1, 2, 3, 4, 6, 8, 12, 16],
                        help="offered customer messages per second, rising: the search stops at the first that fails")
    parser.add_argument("--step-seconds", type=float, default=30, help="how long each step offers its rate")
    parser.add_argument("--messages", type=int, default=3, help="messages per conversation (one of them needs a person)")
    parser.add_argument("--fixed-rate", type=float, default=3, help="the one offered rate every setup is measured at")
    parser.add_argument("--fixed-seconds", type=float, default=30)
    parser.add_argument("--idle-seconds", type=float, default=20, help="how long each setup's idle CPU is measured")
    parser.add_argument("--bound-ms", type=float, default=300, help="message → case p95 a sustained rate must keep")
    parser.add_argument("--setups", default=",".join(SETUPS), help=f"which of {', '.join(SETUPS)}")
    args = parser.parse_args()
    model = ensure_model(log=log)
    results = {key: run_setup(model, key, args) for key in args.setups.split(",")}
    print_report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

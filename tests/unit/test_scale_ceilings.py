"""bench/scale.py's CPU ceilings: a process's idle share (its workers' polling) is its base, not a cost per message."""
import importlib.util
from pathlib import Path

from kefu_rasa.dev.scale_bench import Step

spec = importlib.util.spec_from_file_location("scale_bench_script", Path(__file__).parents[2] / "bench" / "scale.py")
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)


def step_at(rate: float, cpu: dict) -> Step:
    step = Step(rate, 10.0, int(rate * 10))
    step.cpu = cpu
    return step


def test_proportional_ceiling_is_the_rate_over_the_busiest_share():
    step = step_at(3, {"rasa-1": 0.20, "console-1": 0.15, "postgres": 0.5, "load generator": 0.9})
    assert round(scale.ceiling(step, per_process=True), 6) == 15.0  # rasa-1: 3 / 0.2; postgres is not one process of ours


def test_an_idle_base_counts_once_and_only_the_rest_grows_with_the_rate():
    step = step_at(3, {"rasa-1": 0.20, "console-1": 0.16})
    idle = {"rasa-1": 0.0, "console-1": 0.10}
    # console-1: 3 × 0.9 / 0.06 = 45 msg/s; rasa-1 (no base) still 15, the lower of the two.
    assert round(scale.ceiling(step, True, idle), 6) == 15.0
    assert round(scale.ceiling(step_at(3, {"console-1": 0.16}), True, idle), 6) == 45.0


def test_a_process_no_busier_than_at_idle_sets_no_ceiling():
    assert scale.ceiling(step_at(3, {"console-1": 0.10, "rasa-1": 0.3}), True, {"console-1": 0.12}) == 10.0

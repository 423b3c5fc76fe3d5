"""Reply templates: every variant, filled with representative facts, passes the checker.

The cases are generated from assist/shop/replies/*.yml, so a new template is tested the
moment it is written. Broken templates fail loading with file, line and problem.
"""
import re
import shutil
from io import StringIO

import pytest

from assist.drafting.checker import check
from assist.builders.cli import main
from assist.shop.errors import DataError
from assist.drafting.lint import lint
from assist.text.placeholders import fill
from assist.shop.policy import load_policy
from assist.shop.slots import SAMPLE_FACTS
from assist.shop.template_shape import HOLDING, PERSON_TONES
from assist.shop.templates import DEFAULT_DIR, load_templates, read_templates

POLICY = load_policy()
BOOK = load_templates(policy=POLICY)
SAMPLE = {**POLICY.slots(), **SAMPLE_FACTS}
VARIANTS = sorted(BOOK.variants(), key=lambda v: v.id)


def _partner(reply_set, stage, tone):
    """A plain variant for another stage, so the one under test is checked in a whole draft."""
    for v in reply_set.options(stage, tone):
        if not v.when and not v.asks:
            return v
    return reply_set.options(stage, tone)[0]


def _draft_with(variant):
    reply_set = BOOK.sets[variant.concern]
    tone = variant.tone if variant.tone != "any" else "warm"
    pieces = [variant if stage == variant.stage else _partner(reply_set, stage, tone) for stage in reply_set.shape]
    return "".join(fill(v.text, SAMPLE) for v in pieces)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.concern != HOLDING], ids=lambda v: v.id)
def test_every_variant_in_a_whole_draft_passes_the_checker(variant):
    text = _draft_with(variant)
    assert "{" not in text
    assert check(text, policy=POLICY, concern=variant.concern) == [], text


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.concern == HOLDING], ids=lambda v: v.id)
def test_every_holding_variant_passes_the_checker(variant):
    text = fill(variant.text, {**SAMPLE, "cause": "包裹迟迟没到"})
    assert check(text, policy=POLICY) == [], text
    assert len(text) <= 150


@pytest.mark.parametrize("concern", sorted(c for c, rs in BOOK.sets.items() if rs.also), ids=str)
def test_every_ride_along_line_is_clean(concern):
    assert check(BOOK.sets[concern].also, policy=POLICY, whole_message=False) == []


def test_variant_ids_are_unique_and_well_formed():
    ids = [v.id for v in VARIANTS]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"(turn\.)?[a-z_]+\.[a-z_]+\.(any|warm|patient|calming|boundary)\.\d+", i) for i in ids)
    assert BOOK.variant("delivery_delay.resolve.any.1").text.startswith("我这就联系快递")


def test_every_person_concern_has_variants_for_every_tone():
    for concern in ("complaint", "delivery_delay", "price_haggle", "refund_return", "request_human"):
        rs = BOOK.sets[concern]
        for stage in rs.shape:
            for tone in PERSON_TONES:
                assert rs.options(stage, tone), (concern, stage, tone)


def test_the_shipped_files_lint_clean():
    problems, summary = lint()
    assert problems == []
    assert any(line.startswith("templates") for line in summary)


BROKEN = """\
delivery_delay:
  shape: [acknowledge, apologize, resolve, follow_up, consult, hug]
  stages:
    acknowledge:
      any:
        - 您的{mood_word}我理解。
    apologize:
      any: [非常抱歉。]
      sulky: [对不起。]
    resolve:
      any:
        - 你好，这个不行。
        - {text: "麻烦发一下订单号。", asks: phone}
    follow_up:
      any: [4小时内给您回复。]
    consult:
      any: [您看可以吗？]
"""


@pytest.fixture
def broken_replies(tmp_path):
    folder = tmp_path / "replies"
    shutil.copytree(DEFAULT_DIR, folder)
    (folder / "delivery_delay.yml").write_text(BROKEN, encoding="utf-8")
    (folder / "zz_syntax.yml").write_text("greet:\n  shape: [resolve\n", encoding="utf-8")
    return folder


def test_broken_templates_report_every_problem_with_file_and_line(broken_replies):
    """Shape problems from loading, etiquette problems from the checker: lint reports both in one pass."""
    from assist.drafting.lint import lint

    problems, _ = lint(replies=broken_replies)
    text = "\n".join(str(p) for p in problems)
    broken = str(broken_replies / "delivery_delay.yml")
    assert f"{broken}:2: delivery_delay.shape: unknown stage 'hug'" in text
    assert f"{broken}:6: delivery_delay.stages.acknowledge.any[0]: unknown slot {{mood_word}}" in text
    assert f"{broken}:9: delivery_delay.stages.apologize.sulky: unknown tone 'sulky'" in text
    assert re.search(rf"{re.escape(broken)}:12: delivery_delay.stages.resolve.any\[0\]: rule address.nin", text)
    assert re.search(rf"{re.escape(broken)}:12: .*rule refuse.cannot", text)
    assert f"{broken}:13: delivery_delay.stages.resolve.any[1]: asks 'phone'" in text
    assert re.search(rf"{re.escape(str(broken_replies / 'zz_syntax.yml'))}:\d+: \(top\): YAML syntax", text)


def test_load_templates_raises_one_error_listing_all(broken_replies):
    with pytest.raises(DataError) as caught:
        load_templates(broken_replies, policy=POLICY)
    # Every shape problem (loading never runs the checker: the etiquette ones are lint's, above).
    assert len(caught.value.problems) == 5
    assert all(":" in line for line in str(caught.value).splitlines())


def test_cli_lint_fails_on_a_broken_template(broken_replies):
    out, err = StringIO(), StringIO()
    assert main(["lint", "--replies", str(broken_replies)], out, err) == 1
    assert "delivery_delay.yml:2:" in err.getvalue()
    out, err = StringIO(), StringIO()
    assert main(["lint"], out, err) == 0
    assert "lint: ok" in out.getvalue()


def test_a_shape_too_long_for_one_message_is_refused(tmp_path):
    folder = tmp_path / "replies"
    shutil.copytree(DEFAULT_DIR, folder)
    path = folder / "delivery_delay.yml"
    long_close = "        - 您看这样处理可以吗？还有任何想法或者需要我们帮忙的地方，也欢迎您随时告诉我，我一直都在这里等您。"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "        - 您看这样处理可以吗？", long_close, 1), encoding="utf-8")
    _, problems = read_templates(folder, POLICY)
    assert any("longest combination" in p.message and p.file == str(path) for p in problems)

"""`make validate`'s data checks (kefu_rasa/dev/validate.py): every finding names file and line."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kefu_rasa.dev.validate import main, validate

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def broken(tmp_path):
    """A small Rasa project with one of each problem."""
    write(tmp_path / "data" / "nlu" / "alpha.yml", """
        version: "3.1"
        nlu:
        - intent: alpha
          examples: |
            - 快递什么时候到
            - 快遞什麼時候到
            - 我要[红色](color)的
            - 七天无理由能退吗
            - 订单[12345678901](order_id)退货
            - 这句来自评测集不许训练
        - regex: shade
          examples: |
            - 红|蓝
        """)
    write(tmp_path / "data" / "nlu" / "beta.yml", """
        version: "3.1"
        nlu:
        - intent: beta
          examples: |
            - 你好
            - 快递什么时候到
            - 可以[七天无理由](policy_term)退吗
            - 帮我[查](order_id)一下订单
        """)
    write(tmp_path / "data" / "dict" / "userdict.txt", "顺丰 2000 nz\n七天无理 由 3000\n京东物流 3000 NZ\n顺丰\n")
    write(tmp_path / "data" / "dict" / "README.md", "notes\n")
    write(tmp_path / "domain.yml", """
        version: "3.1"
        intents:
          - alpha
          - beta
          - gamma
        entities:
          - order_id
        """)
    write(tmp_path / "eval" / "nlu_eval.tsv", "text\tintent\tmood\tsource\n这句来自评测集不许训练\talpha\tcalm\ttest\n")
    return tmp_path


def messages(problems):
    return [(Path(p.file).name, p.line, p.message) for p in problems]


def test_every_problem_is_found_with_its_file_and_line(broken):
    problems, summary = validate(broken / "data", broken / "domain.yml", eval_dir=broken / "eval", dev_set=None, min_examples=3)
    found = messages(problems)

    def has(file, line, words):
        return any(f == file and n == line and words in m for f, n, m in found)

    assert has("alpha.yml", 6, "warning: duplicate example '快遞什麼時候到' (also at")  # 繁體 twin, same intent
    assert has("beta.yml", 6, "conflicting example '快递什么时候到': also labelled alpha at")
    assert has("alpha.yml", 7, "entity 'color' ([红色]) is not declared")
    assert has("beta.yml", 7, "entity 'policy_term'")
    assert has("alpha.yml", 10, "matches held-out sentence")
    assert has("alpha.yml", 11, "regex 'shade' names no entity")
    assert not any("examples (at least" in m for _, _, m in found)              # 3 is enough here
    assert has("domain.yml", 1, "gamma") or any("gamma" in p.path for p in problems)
    assert has("userdict.txt", 2, "jieba reads 'word [frequency] [tag]'")
    assert has("userdict.txt", 3, "lower-case tag")
    assert has("userdict.txt", 4, "'顺丰' is already at")
    assert has("README.md", 1, "keep only dictionary files")
    assert any("1 sentences" in s or "held out" in s for s in summary)


def test_too_few_examples_and_misaligned_entities(broken):
    problems, _ = validate(broken / "data", broken / "domain.yml", eval_dir=None, dev_set=None, min_examples=5)
    found = messages(problems)
    assert any(f == "beta.yml" and n == 5 and "only 4 examples (at least 5)" in m for f, n, m in found)
    # jieba reads 帮|我查|一下: an annotation of 查 alone cuts a token in two.
    assert any(f == "beta.yml" and n == 8 and "does not fall on jieba token boundaries (帮/我查/一下/订单)" in m for f, n, m in found)
    assert not any(f == "beta.yml" and n == 7 and "jieba" in m for f, n, m in found)  # 七天/无/理由: whole tokens


def test_the_command_exits_1_on_problems_and_0_on_warnings_only(broken, tmp_path, capsys):
    assert main(["--data", str(broken / "data"), "--domain", str(broken / "domain.yml"), "--eval", str(broken / "eval"),
                 "--dev", str(tmp_path / "none.tsv"), "--min-examples", "1", "--no-rasa"]) == 1
    err = capsys.readouterr().err
    assert "alpha.yml:7: alpha: entity 'color'" in err and "validate:" in err
    clean = tmp_path / "clean"
    write(clean / "data" / "nlu" / "alpha.yml", """
        version: "3.1"
        nlu:
        - intent: alpha
          examples: |
            - 快递什么时候到
            - 快遞什麼時候到
        """)
    write(clean / "data" / "dict" / "userdict.txt", "顺丰 2000 nz\n")
    write(clean / "domain.yml", "intents:\n  - alpha\nentities: []\n")
    assert main(["--data", str(clean / "data"), "--domain", str(clean / "domain.yml"), "--eval", str(tmp_path / "no-eval"),
                 "--dev", str(tmp_path / "none.tsv"), "--min-examples", "1", "--no-rasa"]) == 0
    assert "validate: ok (1 warning(s))" in capsys.readouterr().out


def test_the_project_data_passes():
    problems, _ = validate()
    errors = [str(p) for p in problems if "warning:" not in p.message]
    assert not errors, "\n".join(errors)


def test_the_project_data_has_no_problem_but_dev_set_overlap():
    """Everything else validate checks holds for the project's data today."""
    problems, _ = validate()
    errors = [str(p) for p in problems if "warning:" not in p.message and "tests/nlu_dev/dev.tsv" not in p.message]
    assert not errors, "\n".join(errors)


def test_make_validate_runs_all_three_checks():
    """Rasa's own validator runs inside kefu_rasa.dev.validate (quietly), so make validate has two lines."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    block = makefile[makefile.index("\nvalidate:"):].split("\n\n")[0]
    assert "-m assist lint" in block and "-m kefu_rasa.dev.validate" in block and "--no-rasa" not in block


# ---- the mistakes of issue #19, in a copy of the project ---------------------------------

@pytest.fixture
def project_copy(tmp_path):
    import shutil

    for name in ("data", "actions"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("domain.yml", "config.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def replace_once(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in the file; return the 1-based line it was on."""
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def run_main(project: Path, capsys, *extra: str):
    code = main(["--data", str(project / "data"), "--domain", str(project / "domain.yml"),
                 "--config", str(project / "config.yml"), "--actions", str(project / "actions"),
                 "--eval", str(project / "no-eval"), "--dev", str(project / "none.tsv"), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_intent_the_domain_lacks_in_rules_fails_with_file_and_line(project_copy, capsys):
    line = replace_once(project_copy / "data" / "rules.yml", "  - intent: thanks\n", "  - intent: thank\n")
    code, out, err = run_main(project_copy, capsys)
    assert code == 1
    assert f"data/rules.yml:{line}: rules[2].steps[0].intent: intent 'thank' is not in" in err
    assert "validate: 1 problem(s)" in err


def test_an_intent_the_domain_lacks_in_stories_or_alternatives_fails(project_copy, capsys):
    stories = project_copy / "data" / "stories.yml"
    line = replace_once(stories, "  - intent: greet\n", "  - or:\n    - intent: greet\n    - intent: hello\n")
    code, _, err = run_main(project_copy, capsys, "--no-rasa")
    assert code == 1 and f"data/stories.yml:{line + 2}: stories[0].steps[0].or[1].intent: intent 'hello' is not in" in err


@pytest.mark.parametrize("broken", ["都[三天(duration)了", "都[三天]（duration）了", "都三天](duration)了", "都三天(duration)了",
                                    "都[三天](duration了"])
def test_a_broken_annotation_fails_with_file_and_line(project_copy, capsys, broken):
    nlu = project_copy / "data" / "nlu" / "delivery_delay.yml"
    line = replace_once(nlu, "    - 怎么还不发货 都[三天](duration)了\n", f"    - 怎么还不发货 {broken}\n")
    code, _, err = run_main(project_copy, capsys, "--no-rasa")
    assert code == 1
    assert f"data/nlu/delivery_delay.yml:{line}: delivery_delay: broken entity annotation in" in err


def test_brackets_and_parentheses_that_are_not_annotations_pass(tmp_path):
    from assist.builders.trainingdata import Example

    from kefu_rasa.dev.validate import annotation_problems

    fine = [Example("complaint", t, t, (), "x.yml", 1) for t in ("尺码(M)偏小", "【急】还没到", "买了2件(送1件)")]
    assert annotation_problems(fine, ["duration", "order_id"]) == []


def test_responses_nothing_sends_are_warnings(project_copy):
    from kefu_rasa.dev.validate import response_problems

    assert response_problems(project_copy / "data", project_copy / "domain.yml", project_copy / "actions") == []
    domain = project_copy / "domain.yml"
    domain.write_text(domain.read_text(encoding="utf-8").replace("responses:\n", "responses:\n  utter_never_sent:\n  - text: 没人发我\n", 1),
                      encoding="utf-8")
    found = response_problems(project_copy / "data", domain, project_copy / "actions")
    assert [(p.path, p.message.startswith("warning: ")) for p in found] == [("responses.utter_never_sent", True)]


def test_the_clean_project_is_quiet(capsys):
    """`make validate` on a clean checkout: summary lines and 'validate: ok', no warnings (Rasa's included)."""
    assert main([]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == "validate: ok", captured.out
    assert captured.err.strip() == "", captured.err


def test_validate_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "kefu_rasa.dev.validate", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--min-examples" in result.stdout

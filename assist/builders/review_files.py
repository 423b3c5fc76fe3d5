"""The files bot builders review: mined proposals written as YAML (ruamel's round-trip writer,
with the header that says what to do), and the merge of what a person marked `approve: true`
into data/ or the reply templates — line by line, so the builder's files keep their comments."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from assist.builders.trainingdata import compact


def _q(value: Any) -> str:
    """A YAML scalar for a line inserted into a builder's file (JSON is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _shown_path(file: str) -> str:
    try:
        return str(Path(file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return file


def _dump(header: Sequence[str], proposals: List[CommentedMap]) -> str:
    """The review file: a commented header, then `proposals:`, through ruamel's round-trip
    writer, so what a builder reads back (load_yaml, with lines) is exactly what was written."""
    document = CommentedMap(proposals=CommentedSeq(proposals))
    document.yaml_set_start_comment("\n".join(header))
    writer = YAML(typ="rt")
    writer.width = 4096  # one text, one line: easier to review and to edit
    writer.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    writer.dump(document, out)
    return out.getvalue()


def _quoted(text: str) -> DoubleQuotedScalarString:
    return DoubleQuotedScalarString(text)


def templates_yaml(proposals: Sequence[Any], stamp: str) -> str:
    """The review file of mined reply variants (assist/builders/mining.py's VariantProposal)."""
    header = [
        f"Reply variants mined from agents' edits ({stamp}). Texts are masked; nothing here is live.",
        "Review each: set `approve: true` on the ones to keep (you may edit `text`), then run",
        "  python -m assist mine --apply <this file>   and   make validate",
        "Entries with `problems` fail the template checks and cannot be applied as they are.",
    ]
    entries = []
    for i, p in enumerate(proposals, 1):
        entry = CommentedMap([
            ("id", f"variant-{i}"), ("kind", "template"), ("approve", False), ("concern", p.concern),
            ("stage", p.stage), ("tone", p.tone), ("text", _quoted(p.text)), ("based_on", p.based_on),
            ("file", _quoted(_shown_path(p.file))), ("support", p.support), ("chosen_with_base", p.shown),
        ])
        entry.yaml_add_eol_comment("agents' edits that made exactly this change", "support")
        entry.yaml_add_eol_comment(f"decisions whose chosen draft used {p.based_on}", "chosen_with_base")
        if p.problems:
            entry["problems"] = CommentedSeq(_quoted(x) for x in p.problems)
        entry["examples"] = CommentedSeq(
            CommentedMap([("draft", _quoted(draft)), ("sent", _quoted(sent))]) for draft, sent in p.examples)
        entries.append(entry)
    return _dump(header, entries)


def nlu_yaml(proposals: Sequence[Any], stamp: str, dropped: Mapping[str, int]) -> str:
    """The review file of mined NLU examples (ExampleProposal)."""
    header = [
        f"NLU examples mined from customer messages ({stamp}): ones the bot was unsure about and",
        "ones whose concern an agent corrected. Masked (<订单号>, <手机号> …); a masked order number",
        "becomes an annotated made-up one when applied. Check the intent against data/README.md's",
        "label guide, set `approve: true`, then: python -m assist mine --apply <this file>; make validate; make train",
    ]
    if dropped:
        header.append("not proposed: " + ", ".join(f"{n} {why}" for why, n in sorted(dropped.items())))
    entries = [CommentedMap([("id", f"example-{i}"), ("kind", "nlu"), ("approve", False), ("intent", p.intent),
                             ("text", _quoted(p.text)), ("why", _quoted(p.why)), ("seen", p.seen)])
               for i, p in enumerate(proposals, 1)]
    return _dump(header, entries)


FAKE = {"<订单号>": "[4392018876512093](order_id)", "<手机号>": "13800000000", "<运单号>": "YT0000000000000",
        "<姓名>": "王", "<地址>": "杭州市西湖区文三路1号", "<邮箱>": "", "<证件号>": ""}


def _insert_after(path: Path, line: int, new_line: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines.insert(line, new_line + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def apply_approved(proposals_file: Path, data_dir: Path, replies_dir: Optional[Path] = None) -> List[str]:
    """Merge entries marked `approve: true`; returns one line per entry saying what happened."""
    from assist.shop.datafile import load_yaml
    from assist.shop.templates import DEFAULT_DIR
    from assist.builders.trainingdata import read_examples

    data, _, problems = load_yaml(proposals_file)
    if problems:
        raise ValueError("\n".join(str(p) for p in problems))
    report = []
    for entry in (data or {}).get("proposals") or []:
        if entry.get("approve") is not True:
            continue
        name = entry.get("id", "?")
        if entry.get("problems"):
            report.append(f"{name}: skipped, it has problems (fix the text and remove `problems` first)")
            continue
        if entry.get("kind") == "nlu":
            report.append(f"{name}: " + _apply_example(entry, data_dir, read_examples))
        elif entry.get("kind") == "template":
            report.append(f"{name}: " + _apply_variant(entry, Path(replies_dir or DEFAULT_DIR)))
        else:
            report.append(f"{name}: skipped, unknown kind {entry.get('kind')!r}")
    return report


def _apply_example(entry: Mapping[str, Any], data_dir: Path, read_examples) -> str:
    intent, text = entry.get("intent"), str(entry.get("text") or "").strip()
    if not intent or not text:
        return "skipped, needs intent and text"
    for placeholder, fake in FAKE.items():
        text = text.replace(placeholder, fake)
    examples, _, _ = read_examples(data_dir / "nlu" if (data_dir / "nlu").is_dir() else data_dir)
    same = [e for e in examples if compact(e.text) == compact(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text))]
    if same:
        return f"already in {same[0].file}:{same[0].line} as {same[0].intent}; not added"
    mine_ = [e for e in examples if e.intent == intent]
    if not mine_:
        return f"skipped, no file has intent {intent!r} yet (create data/nlu/{intent}.yml first)"
    last = mine_[-1]  # the end of the intent's last examples block
    source_line = Path(last.file).read_text(encoding="utf-8").splitlines()[last.line - 1]
    indent = source_line[: len(source_line) - len(source_line.lstrip())]
    _insert_after(Path(last.file), last.line, f"{indent}- {text}")
    return f"added to {last.file}:{last.line + 1} ({intent})"


def _apply_variant(entry: Mapping[str, Any], replies_dir: Path) -> str:
    from assist.shop.datafile import load_yaml

    concern, stage, tone, text = entry.get("concern"), entry.get("stage"), entry.get("tone"), entry.get("text")
    if not all(isinstance(x, str) and x for x in (concern, stage, tone, text)):
        return "skipped, needs concern, stage, tone and text"
    for path in sorted(replies_dir.glob("*.yml")):
        data, where, problems = load_yaml(path)
        if problems or not isinstance(data, dict) or concern not in data:
            continue
        variants = ((data[concern].get("stages") or {}).get(stage) or {}).get(tone)
        if not isinstance(variants, list) or not variants:
            return f"skipped, {path} has no {concern}.{stage}.{tone} list to add to"
        if any((v if isinstance(v, str) else v.get("text")) == text for v in variants):
            return f"already in {path}; not added"
        last_line = where.line([concern, "stages", stage, tone, len(variants) - 1])
        source_line = path.read_text(encoding="utf-8").splitlines()[last_line - 1]
        indent = source_line[: len(source_line) - len(source_line.lstrip())]
        _insert_after(path, last_line, f"{indent}- {_q(text)}")
        return f"added to {_shown_path(str(path))}:{last_line + 1} as {concern}.{stage}.{tone}.{len(variants) + 1}"
    return f"skipped, no reply file defines {concern!r}"

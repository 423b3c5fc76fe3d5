"""The dialogue side of `make validate`: intents in rules and stories the domain lacks, responses
nothing sends, and Rasa's own validator run quietly in this process (kefu_rasa/dev/validate.py
reports all of them with the data checks)."""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from assist.shop.errors import Problem

WARNING = "warning: "


def _dialogue_files(data: Path) -> List[Tuple[str, object, object]]:
    """(file, parsed, locator) of every rules/stories file under `data`."""
    from assist.shop.datafile import load_yaml
    from assist.builders.trainingdata import nlu_files

    found = []
    for path in nlu_files(data):
        parsed, where, problems = load_yaml(path)
        if not problems and isinstance(parsed, dict) and ("rules" in parsed or "stories" in parsed):
            found.append((str(path), parsed, where))
    return found


def _steps(parsed: dict):
    """(path, step) of every step of every rule and story, `or:` alternatives included."""
    for kind in ("rules", "stories"):
        for i, block in enumerate(parsed.get(kind) or []):
            steps = block.get("steps") if isinstance(block, dict) else None
            for j, step in enumerate(steps or []):
                if not isinstance(step, dict):
                    continue
                yield [kind, i, "steps", j], step
                for k, alternative in enumerate(step.get("or") or []):
                    if isinstance(alternative, dict):
                        yield [kind, i, "steps", j, "or", k], alternative


def dialogue_problems(data: Path, domain_intents: Sequence[str], domain_file: str) -> List[Problem]:
    """Intents in rules and stories that the domain lacks: Rasa only warns, and the rule never fires."""
    known = set(domain_intents) | {"nlu_fallback", "restart", "back", "out_of_scope", "session_start"}
    problems = []
    for file, parsed, where in _dialogue_files(data):
        for path, step in _steps(parsed):
            intent = step.get("intent")
            if isinstance(intent, str) and intent not in known:
                problems.append(where.problem(path + ["intent"],
                                              f"intent {intent!r} is not in {domain_file} (intents: {', '.join(sorted(domain_intents))})"))
    return problems


CHANNELS = Path(__file__).resolve().parents[1]  # kefu_rasa/: kefu's channels send some responses themselves


def response_problems(data: Path, domain: Path, actions: Optional[Path]) -> List[Problem]:
    """Responses nothing sends: not in a rule or story, not named by a custom action or kefu's channels
    (the WeChat channel greets new followers with utter_wechat_subscribe)."""
    from assist.shop.datafile import load_yaml

    parsed, where, problems = load_yaml(domain)
    if problems or not isinstance(parsed, dict):
        return problems
    used = {"utter_default"}  # Rasa's action_default_fallback sends it
    for _, steps_parsed, _ in _dialogue_files(data):
        used |= {step.get("action") for _, step in _steps(steps_parsed) if isinstance(step.get("action"), str)}
    senders = sorted(actions.rglob("*.py")) if actions is not None and actions.is_dir() else []
    for path in senders + sorted(CHANNELS.glob("*.py")):
        used |= set(re.findall(r"[\"'](utter_\w+)[\"']", path.read_text(encoding="utf-8")))
    return [where.problem(["responses", name], f"{WARNING}response {name!r} is sent by no rule, story or action in {actions}")
            for name in (parsed.get("responses") or {}) if name not in used]


# Rasa validator warnings that the checks above report better (with file and line).
_RASA_COVERED = (re.compile(r"The utterance '\w+' is not used in any story or rule"),
                 re.compile(r"The intent '\w+' is used in your stories, but it is not listed in the domain"),
                 re.compile(r"Found intent '\w+' in stories which is not part of the domain"))


def rasa_problems(data: Path, domain: Path, config: Path) -> List[Problem]:
    """Rasa's own validator (what `rasa data validate` runs), in this process: its warnings
    collected as problems, its progress bars and log lines kept back unless it fails."""
    import contextlib
    import io
    import logging
    import warnings

    logging.getLogger("rasa").setLevel(logging.ERROR)
    output = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", UserWarning)
        from rasa.cli.utils import validate_files
        from rasa.shared.importers.importer import TrainingDataImporter
        from rasa.utils.common import EXPECTED_WARNINGS

        importer = TrainingDataImporter.load_from_config(domain_path=str(domain), training_data_paths=[str(data)],
                                                         config_path=str(config))
        try:
            validate_files(False, None, importer)
            failed = False
        except SystemExit as exc:
            failed = exc.code not in (0, None)
    # Warnings Rasa itself hides outside debug mode (e.g. "Slot auto-fill has been removed").
    expected = [re.compile(message) for category, message in EXPECTED_WARNINGS if category is UserWarning]
    problems, seen = [], set()
    for warning in caught:
        text = str(warning.message).strip()
        if (not issubclass(warning.category, UserWarning) or text in seen
                or any(p.search(text) for p in _RASA_COVERED) or any(p.match(text) for p in expected)):
            continue
        seen.add(text)
        problems.append(Problem(str(domain), 1, "rasa", f"{WARNING}{text}"))
    if failed:
        print(output.getvalue(), file=sys.stderr)
        problems.append(Problem(str(data), 1, "rasa", "Rasa's validator found errors (printed above)"))
    return problems

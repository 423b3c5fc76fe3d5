"""Read a YAML data file keeping line numbers, and validate it against a JSON schema.

Every problem comes back as a `Problem(file, line, path, message)`; callers collect them
all and raise one `DataError`. The parsed data is handed on as plain dicts and lists, with
a `Locator` that can still say on which line any path was written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, List, Sequence, Tuple, Union

from assist.shop.errors import Problem

PathPart = Union[str, int]


def dotted(path: Iterable[PathPart]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _plain(node: Any) -> Any:
    """ruamel's round-trip types → dict/list/str/int, so nothing downstream depends on ruamel."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


class Locator:
    """Finds the 1-based line where a path inside the loaded YAML was written."""

    def __init__(self, file: str, tree: Any):
        self.file = file
        self._tree = tree

    def line(self, path: Sequence[PathPart]) -> int:
        node, line = self._tree, 1
        for part in path:
            lc = getattr(node, "lc", None)
            try:
                if isinstance(part, int) and isinstance(node, list):
                    if lc is not None:
                        line = lc.item(part)[0] + 1
                    node = node[part]
                elif isinstance(node, dict) and part in node:
                    if lc is not None:
                        line = lc.key(part)[0] + 1
                    node = node[part]
                else:
                    break
            except (KeyError, IndexError, TypeError, AttributeError):
                break
        return line

    def problem(self, path: Sequence[PathPart], message: str) -> Problem:
        return Problem(self.file, self.line(path), dotted(path), message)


def load_yaml(path: Union[str, Path]) -> Tuple[Any, Locator, List[Problem]]:
    """Parse one file. On failure the data is None and the problems say why and where."""
    from ruamel.yaml import YAML  # lazy: importing ruamel costs start-up time
    from ruamel.yaml.error import MarkedYAMLError

    name = str(path)
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, Locator(name, None), [Problem(name, 1, "", f"cannot read file: {exc}")]
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(source)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = exc.problem or exc.context or "invalid YAML"
        return None, Locator(name, None), [Problem(name, line, "", f"YAML syntax: {reason}")]
    except Exception as exc:  # ruamel raises a few unmarked errors (duplicate keys, bad tags)
        return None, Locator(name, None), [Problem(name, 1, "", f"YAML: {exc}")]
    return _plain(tree), Locator(name, tree), []


def schema_problems(data: Any, schema: dict, where: Locator) -> List[Problem]:
    from jsonschema import Draft7Validator

    problems = []
    for err in sorted(Draft7Validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(where.problem(list(err.absolute_path), err.message))
    return problems

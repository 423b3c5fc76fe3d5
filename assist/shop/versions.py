"""Which model and which templates produced a batch of drafts, so acceptance can be
compared release against release.

- templates: a short hash of the reply templates (assist/shop/replies/*.yml) and the shop
  policy they are filled from: any edit a bot builder makes gives a new version.
- model: the Rasa model's file stem (kefu-<hash of its inputs>, see kefu_rasa/dev/model_cache.py),
  handed to the action server and the console as KEFU_MODEL_VERSION by kefu_rasa/dev/servers.py.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from assist.settings import UNKNOWN, Settings, get_settings
from assist.shop.templates import DEFAULT_DIR

Pathish = Union[str, Path, None]


def _policy_path(policy_path: Pathish) -> Path:
    from assist.shop.policy import policy_path as configured

    return configured(policy_path)


def _stamp(files) -> Tuple:
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.is_file())


def template_files(replies: Pathish = None, policy_path: Pathish = None):
    folder = Path(replies) if replies else DEFAULT_DIR
    return sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")) + [_policy_path(policy_path)]


def template_version(replies: Pathish = None, policy_path: Pathish = None) -> str:
    """`t-` and 10 hex digits of the templates' and policy's bytes (cached on the files' mtimes)."""
    files = template_files(replies, policy_path)
    return _hash(_stamp(files))


@lru_cache(maxsize=16)
def _hash(stamp: Tuple) -> str:
    digest = hashlib.sha256()
    for name, _mtime, _size in stamp:
        path = Path(name)
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "t-" + digest.hexdigest()[:10]


def model_version(settings: Optional[Settings] = None) -> str:
    return (settings or get_settings()).model_version or UNKNOWN


def current_versions(replies: Pathish = None, policy_path: Pathish = None,
                     settings: Optional[Settings] = None) -> Dict[str, str]:
    """{"model": ..., "templates": ...}: what a case or batch records."""
    return {"model": model_version(settings), "templates": template_version(replies, policy_path)}

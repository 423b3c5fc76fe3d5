"""Ask a running Rasa server to parse a message (POST {url}/model/parse), with a timeout.

Standard library only: the core stays free of Rasa and of HTTP client dependencies.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

DEFAULT_URL = "http://127.0.0.1:5005"
DEFAULT_TIMEOUT = 2.0


class NluUnavailable(Exception):
    """Rasa could not be asked (down, slow, refused, odd answer); the caller falls back."""


@dataclass(frozen=True)
class Parse:
    intent: Optional[str]
    ranking: List[Dict[str, Any]] = field(default_factory=list)
    entities: List[Dict[str, Any]] = field(default_factory=list)


def parse_with_rasa(text: str, url: str = DEFAULT_URL, token: Optional[str] = None,
                    timeout: float = DEFAULT_TIMEOUT) -> Parse:
    endpoint = url.rstrip("/") + "/model/parse"
    if token:
        endpoint += "?" + urllib.parse.urlencode({"token": token})
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(endpoint, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise NluUnavailable(f"Rasa at {url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NluUnavailable(f"Rasa at {url} not reachable ({reason})") from exc
    except ValueError as exc:
        raise NluUnavailable(f"Rasa at {url} sent something that is not JSON") from exc
    if not isinstance(payload, dict):
        raise NluUnavailable(f"Rasa at {url} sent an unexpected answer")
    intent = payload.get("intent") or {}
    return Parse(
        intent=intent.get("name") if isinstance(intent, dict) else None,
        ranking=[r for r in payload.get("intent_ranking") or [] if isinstance(r, dict)],
        entities=[e for e in payload.get("entities") or [] if isinstance(e, dict)],
    )

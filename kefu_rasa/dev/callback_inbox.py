"""A local receiver for Rasa's callback channel: stands in for a REST customer's client in
tests and benchmarks, recording what Rasa POSTs per recipient and when.

It is the idempotent receiver kefu's callback channel expects: a message whose id it has
already taken is acknowledged again and not shown twice (`texts`); `raw` keeps every POST.
`refuse(seconds)` makes it answer 503 for a while (a client that is down or overloaded).
"""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple


class CallbackInbox:
    def __init__(self, host: str = "127.0.0.1"):
        self.received: Dict[str, List[Tuple[float, str]]] = defaultdict(list)  # what the customer sees
        self.raw: Dict[str, List[Tuple[float, str, Optional[str]]]] = defaultdict(list)  # every POST taken
        self.ids: Dict[str, set] = defaultdict(set)
        self.refused = 0
        self.refuse_until = 0.0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_port}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(inbox):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with inbox.lock:
                    if time.monotonic() < inbox.refuse_until:
                        inbox.refused += 1
                        status = 503
                    else:
                        inbox.take(body)
                        status = 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def take(self, body: dict) -> None:
        recipient, text, key = body.get("recipient_id"), body.get("text"), body.get("id")
        at = time.monotonic()
        self.raw[recipient].append((at, text, key))
        if key is not None:
            if key in self.ids[recipient]:
                return  # seen already: acknowledged, not shown again
            self.ids[recipient].add(key)
        self.received[recipient].append((at, text))

    def refuse(self, seconds: float) -> None:
        """Answer 503 to every POST for `seconds` (Rasa must not count those as delivered)."""
        with self.lock:
            self.refuse_until = time.monotonic() + seconds

    def texts(self, recipient: str) -> list:
        with self.lock:
            return [text for _, text in self.received[recipient]]

    def raw_texts(self, recipient: str) -> list:
        with self.lock:
            return [text for _, text, _ in self.raw[recipient]]

    def arrival(self, recipient: str, text: str):
        with self.lock:
            return next((at for at, t in self.received[recipient] if t == text), None)

    def wait_for(self, recipient: str, count: int, timeout: float = 20) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.texts(recipient)) < count:
            time.sleep(0.05)
        return self.texts(recipient)

    def close(self) -> None:
        self.server.shutdown()

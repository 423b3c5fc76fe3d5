"""A local receiver for Rasa's callback channel: stands in for a REST customer's client in
tests and benchmarks, recording what Rasa POSTs per recipient and when."""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Tuple


class CallbackInbox:
    def __init__(self, host: str = "127.0.0.1"):
        self.received: Dict[str, List[Tuple[float, str]]] = defaultdict(list)
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
                    inbox.received[body.get("recipient_id")].append((time.monotonic(), body.get("text")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def texts(self, recipient: str) -> list:
        with self.lock:
            return [text for _, text in self.received[recipient]]

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

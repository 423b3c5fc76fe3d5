"""A local stand-in for WeChat's API (api.weixin.qq.com) for tests and benchmarks: the access token
endpoint and the customer-service message API, answering with WeChat's own error codes, recording
every call the channel makes. Point KEFU_WECHAT_API_URL at `url`.

- GET  /cgi-bin/token?grant_type=client_credential&appid=…&secret=… → {"access_token", "expires_in"},
  or 40125 for a wrong secret;
- POST /cgi-bin/message/custom/send?access_token=… {"touser", "msgtype": "text", "text": {"content"}}
  → {"errcode": 0, "errmsg": "ok"}; 40001 for a token it did not issue or has expired
  (`expire_tokens()`); 45015 for a customer outside the 48-hour window (`outside_window`); 48001 while
  the account is not verified (`unverified`); -1 "system error" for the next `busy` calls.
- GET  /cgi-bin/media/get?access_token=…&media_id=… → the picture put in `media` (image/jpeg), or 40007.
"""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Set
from urllib.parse import parse_qs, urlparse

ERRORS = {
    40001: "invalid credential, access_token is invalid or not latest",
    40007: "invalid media_id",
    40125: "invalid appsecret",
    45015: "response out of time limit or subscription is canceled",
    48001: "api unauthorized",
    -1: "system error",
}


class FakeWeChatApi:
    def __init__(self, app_id: str, secret: str, host: str = "127.0.0.1", expires_in: int = 7200):
        self.app_id, self.secret, self.expires_in = app_id, secret, expires_in
        self.valid_tokens: Set[str] = set()
        self.token_fetches = 0
        self.calls: List[dict] = []            # every send: {"token", "touser", "text", "errcode"}
        self.sent: Dict[str, List[str]] = defaultdict(list)  # what each customer received
        self.outside_window: Set[str] = set()  # OpenIDs that have not written for 48 hours
        self.busy = 0                          # the next sends answered -1
        self.unverified = False                # the account may not use the customer-service API
        self.media: Dict[str, bytes] = {}      # MediaId → a picture a customer sent (GET /cgi-bin/media/get)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(api):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                if url.path == "/cgi-bin/media/get":
                    return self._media({k: v[0] for k, v in parse_qs(url.query).items()})
                if url.path != "/cgi-bin/token":
                    return self._answer(404, {"errcode": 404, "errmsg": "not found"})
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._answer(200, api.token(query))

            def do_POST(self):  # noqa: N802
                url = urlparse(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if url.path != "/cgi-bin/message/custom/send":
                    return self._answer(404, {"errcode": 404, "errmsg": "not found"})
                token = (parse_qs(url.query).get("access_token") or [""])[0]
                self._answer(200, api.send(token, json.loads(body or b"{}")))

            def _media(self, query: Dict[str, str]) -> None:
                with api.lock:
                    code = 40001 if query.get("access_token") not in api.valid_tokens else (
                        0 if query.get("media_id") in api.media else 40007)
                    data = api.media.get(query.get("media_id"), b"")
                if code:
                    return self._answer(200, {"errcode": code, "errmsg": ERRORS[code]})
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Disposition", 'attachment; filename="photo.jpg"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def token(self, query: Dict[str, str]) -> dict:
        with self.lock:
            self.token_fetches += 1
            if query.get("grant_type") != "client_credential" or query.get("appid") != self.app_id \
                    or query.get("secret") != self.secret:
                return {"errcode": 40125, "errmsg": ERRORS[40125]}
            token = f"tok-{self.token_fetches}-{int(time.time() * 1000)}"
            self.valid_tokens.add(token)
            return {"access_token": token, "expires_in": self.expires_in}

    def send(self, token: str, body: dict) -> dict:
        openid, text = body.get("touser"), (body.get("text") or {}).get("content")
        with self.lock:
            if token not in self.valid_tokens:
                code = 40001
            elif self.unverified:
                code = 48001
            elif self.busy > 0:
                self.busy -= 1
                code = -1
            elif openid in self.outside_window:
                code = 45015
            else:
                code = 0
                self.sent[openid].append(text)
            self.calls.append({"token": token, "touser": openid, "text": text, "errcode": code})
        return {"errcode": code, "errmsg": ERRORS.get(code, "ok")}

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (it expired, or another system fetched a new one)."""
        with self.lock:
            self.valid_tokens.clear()

    def texts(self, openid: str) -> List[str]:
        with self.lock:
            return list(self.sent[openid])

    def calls_for(self, openid: str) -> List[dict]:
        with self.lock:
            return [dict(c) for c in self.calls if c["touser"] == openid]

    def wait_for(self, openid: str, count: int, timeout: float = 20) -> List[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.texts(openid)) < count:
            time.sleep(0.05)
        return self.texts(openid)

    def wait_for_calls(self, openid: str, count: int, timeout: float = 20) -> List[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.calls_for(openid)) < count:
            time.sleep(0.05)
        return self.calls_for(openid)

    def close(self) -> None:
        self.server.shutdown()


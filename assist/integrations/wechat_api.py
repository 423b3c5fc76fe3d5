"""The WeChat Official Account API as kefu-assist uses it: the customer-service message API (客服消息)
for every text that is not the passive reply, and the access token it needs.

wechatpy (`WeChatClient`) makes the calls and decodes WeChat's errors. It is synchronous (requests):
callers on an event loop run these methods in a thread. What this module adds:
- every call has a timeout (wechatpy's own token fetch has none), and the API's address is a setting
  (KEFU_WECHAT_API_URL: a proxy, or the tests' fake of WeChat);
- the access token is cached and refreshed `margin` before it expires, by one caller at a time while
  the others wait for its token; with `shared` (the store) every Rasa instance uses one token, because
  WeChat invalidates the old token a few minutes after anyone fetches a new one. A call WeChat answers
  with 40001/40014/42001 (token invalid or expired) drops that token and is tried once more;
- errors sorted for the console's outbox: `WeChatRefused.permanent` for those no retry can cure
  (45015, the 48-hour rule: the customer has not written for 48 hours), with the reason in agents'
  words; transient for the rest (-1 system busy, the network, a token that cannot be fetched now).
"""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional, Protocol, Tuple

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

# What the customer-service API answers that no retry can change, in the words the console shows.
PERMANENT = {
    45015: "顾客已超过48小时没有给公众号发消息，微信不允许再主动发给他；等顾客再发来消息后才能回复",
    45047: "顾客回复之前，发给他的客服消息已到微信允许的条数；等顾客再发来消息后才能继续发",
    43004: "顾客已取消关注公众号，收不到消息",
    40003: "这个 OpenID 不是本公众号的顾客",
    45002: "消息太长，微信不收；请分成几段发送",
    48001: "公众号没有客服消息接口的权限（需要微信认证的服务号或订阅号），只能在顾客发消息时被动回复",
}
TOKEN_REFUSED = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
_ACCESS_TOKEN = re.compile(r"(access_token=)[^&\s'\"]+")


class WeChatRefused(RuntimeError):
    """WeChat did not take a message. `permanent`: retrying cannot help (the reason says why)."""

    def __init__(self, reason: str, code: Optional[int] = None, permanent: bool = False):
        super().__init__(reason)
        self.code, self.permanent = code, permanent


def refused(error: WeChatClientException) -> WeChatRefused:
    code = error.errcode
    if code in PERMANENT:
        return WeChatRefused(f"微信拒收（{code}）：{PERMANENT[code]}", code, permanent=True)
    if code is None:
        status = getattr(error.response, "status_code", "?")
        return WeChatRefused(f"微信接口暂时不可用（HTTP {status}）")
    return WeChatRefused(f"微信接口暂时不可用（{code} {error.errmsg}）", code)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SharedTokens(Protocol):
    """Where every instance finds the token (assist.store.wechat.WeChatRecords)."""

    def token(self, app_id: str) -> Optional[Tuple[str, datetime]]: ...
    def take_token_refresh(self, app_id: str, lease: timedelta) -> bool: ...
    def save_token(self, app_id: str, token: str, expires_at: datetime) -> None: ...
    def release_token_refresh(self, app_id: str) -> None: ...
    def expire_token(self, app_id: str, token: str) -> None: ...


class TokenCache:
    """The access token, fetched by `fetch()` → (token, seconds it lives)."""

    def __init__(self, app_id: str, fetch: Callable[[], Tuple[str, int]], shared: Optional[SharedTokens] = None,
                 margin: timedelta = timedelta(minutes=5), wait: timedelta = timedelta(seconds=10),
                 clock: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep):
        self.app_id, self.fetch, self.shared = app_id, fetch, shared
        self.margin, self.wait, self.clock, self.sleep = margin, wait, clock, sleep
        self._lock = threading.Lock()
        self._current: Optional[Tuple[str, datetime]] = None

    def _fresh(self, entry: Optional[Tuple[str, datetime]]) -> bool:
        return entry is not None and entry[1] - self.margin > self.clock()

    def get(self) -> str:
        with self._lock:  # one refresh at a time in this process: the others wait here for its token
            if not self._fresh(self._current):
                self._current = self._shared_or_fetched() if self.shared is not None else self._fetched()
            return self._current[0]

    def _fetched(self) -> Tuple[str, datetime]:
        token, lifetime = self.fetch()
        return token, self.clock() + timedelta(seconds=lifetime)

    def _shared_or_fetched(self) -> Tuple[str, datetime]:
        """Another instance's fresh token, else ours once we hold the refresh lease (an instance that
        died holding it loses it after `wait`)."""
        deadline = self.clock() + self.wait * 2
        while True:
            found = self.shared.token(self.app_id)
            if self._fresh(found):
                return found
            if self.shared.take_token_refresh(self.app_id, self.wait):
                try:
                    entry = self._fetched()
                except BaseException:
                    self.shared.release_token_refresh(self.app_id)
                    raise
                self.shared.save_token(self.app_id, *entry)
                return entry
            if self.clock() > deadline:
                raise WeChatRefused("微信接口暂时不可用（另一个实例正在换取 access_token，还没有换到）")
            self.sleep(0.1)

    def invalidate(self, token: str) -> None:
        """WeChat refused `token`: the next get() fetches another (unless someone already did)."""
        with self._lock:
            if self._current is not None and self._current[0] == token:
                self._current = None
            if self.shared is not None:
                self.shared.expire_token(self.app_id, token)


class WeChatApi:
    """Send texts to a customer (OpenID) through the customer-service message API. Blocking."""

    def __init__(self, app_id: str, secret: str, base_url: str, timeout: float,
                 shared: Optional[SharedTokens] = None, sleep: Callable[[float], None] = time.sleep):
        self.app_id, self.secret, self.base_url, self.timeout, self.sleep = app_id, secret, base_url.rstrip("/"), timeout, sleep
        self.client = WeChatClient(app_id, secret, timeout=timeout, auto_retry=False)
        self.client.API_BASE_URL = f"{self.base_url}/cgi-bin/"
        self.tokens = TokenCache(app_id, self._fetch_token, shared)

    def _fetch_token(self) -> Tuple[str, int]:
        """GET /cgi-bin/token (wechatpy's own fetch has no timeout and a fixed address)."""
        try:
            answer = self.client._http.get(f"{self.base_url}/cgi-bin/token", timeout=self.timeout, params={
                "grant_type": "client_credential", "appid": self.app_id, "secret": self.secret})
            answer.raise_for_status()
            result = answer.json()
        except (requests.RequestException, ValueError) as error:
            raise WeChatRefused(f"微信接口暂时不可用（换取 access_token 失败：{hide_token(str(error))}）") from None
        if not result.get("access_token"):
            # 40125 wrong secret, 40164 this server's IP is not in the account's whitelist: the shop's
            # settings, fixed on WeChat's side; kept transient so the outbox delivers once it is fixed.
            raise WeChatRefused(f"微信接口暂时不可用（换取 access_token 失败：{result.get('errcode')} {result.get('errmsg')}）",
                                result.get("errcode"))
        return result["access_token"], int(result.get("expires_in") or 7200)

    def send_text(self, openid: str, text: str, tries: int = 1) -> None:
        """Raises WeChatRefused. With `tries` > 1 a transient failure is tried again after 0.5 s, 1 s …"""
        for attempt in range(1, tries + 1):
            try:
                return self._send_once(openid, text)
            except WeChatRefused as error:
                if error.permanent or attempt == tries:
                    raise
                self.sleep(0.5 * 2 ** (attempt - 1))

    def _send_once(self, openid: str, text: str) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        for attempt in (1, 2):
            token = self.tokens.get()
            try:
                self.client.post("message/custom/send", params={"access_token": token}, data=body)
                return
            except WeChatClientException as error:
                if error.errcode in TOKEN_REFUSED and attempt == 1:
                    self.tokens.invalidate(token)  # expired, or someone fetched a newer one: once more
                    continue
                raise refused(error) from None
            except requests.RequestException as error:
                raise WeChatRefused(f"微信接口暂时不可用（{hide_token(str(error))}）") from None


    def media(self, media_id: str, max_bytes: int) -> bytes:
        """A picture the customer sent (GET /cgi-bin/media/get), at most `max_bytes`. Raises WeChatRefused."""
        for attempt in (1, 2):
            token = self.tokens.get()
            try:
                with self.client._http.get(f"{self.base_url}/cgi-bin/media/get", timeout=self.timeout, stream=True,
                                           params={"access_token": token, "media_id": media_id}) as answer:
                    answer.raise_for_status()
                    data = answer.raw.read(max_bytes + 1, decode_content=True)
                    kind = answer.headers.get("Content-Type", "")
            except requests.RequestException as error:
                raise WeChatRefused(f"微信接口暂时不可用（下载图片失败：{hide_token(str(error))}）") from None
            if not kind.startswith(("application/json", "text/plain")):
                if len(data) > max_bytes:
                    raise WeChatRefused(f"图片超过 {max_bytes} 字节（KEFU_IMAGE_MAX_BYTES）", permanent=True)
                return data
            try:
                error = json.loads(data or b"{}")
            except ValueError:
                error = {}
            if error.get("errcode") in TOKEN_REFUSED and attempt == 1:
                self.tokens.invalidate(token)
                continue
            raise WeChatRefused(f"微信没有给出这张图片（{error.get('errcode')} {error.get('errmsg')}）", error.get("errcode"),
                                permanent=True)
        raise WeChatRefused("微信接口暂时不可用（下载图片失败）")


def hide_token(text: str) -> str:
    """requests names the URL it failed on, ?access_token=… included: that text reaches logs and the console."""
    return _ACCESS_TOKEN.sub(r"\1***", text)[:300]

"""WeChat's server as an Official Account's server URL meets it, for tests and benchmarks: the URL
check (GET with signature and echostr) and the message push — XML as WeChat writes it, signed with
the account's token and, in safe mode, encrypted with its EncodingAESKey by wechatpy's crypto,
POSTed with the query string WeChat adds. `reply()` reads the passive reply back (decrypting it).
"""
from __future__ import annotations

import random
import string
import time
from dataclasses import dataclass, field
from typing import Dict, Optional

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

ACCOUNT = "gh_kefu0test0"  # the account's original id (ToUserName)


@dataclass
class Push:
    xml: str
    params: Dict[str, str] = field(default_factory=dict)
    msg_id: Optional[str] = None


def _nonce() -> str:
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(10))


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


class WeChatServer:
    def __init__(self, url: str, token: str, app_id: str, aes_key: str = "", account: str = ACCOUNT):
        self.url, self.token, self.app_id, self.account = url, token, app_id, account
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    # ---- what WeChat writes ------------------------------------------------------------------------
    def text(self, openid: str, content: str, msg_id: Optional[str] = None, safe: bool = False) -> Push:
        msg_id = msg_id or str(random.randrange(10**18, 10**19))
        return self._push(openid, "text", f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>", safe, msg_id)

    def image(self, openid: str, safe: bool = False, media_id: str = "m1") -> Push:
        msg_id = str(random.randrange(10**18, 10**19))
        return self._push(openid, "image", f"<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
                                           f"<MsgId>{msg_id}</MsgId>", safe, msg_id)

    def voice(self, openid: str, safe: bool = False) -> Push:
        msg_id = str(random.randrange(10**18, 10**19))
        return self._push(openid, "voice", f"<MediaId><![CDATA[v1]]></MediaId><Format><![CDATA[amr]]></Format>"
                                           f"<MsgId>{msg_id}</MsgId>", safe, msg_id)

    def event(self, openid: str, event: str, safe: bool = False, created: Optional[int] = None, key: str = "") -> Push:
        extra = f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        return self._push(openid, "event", extra, safe, None, created)

    def _push(self, openid: str, kind: str, extra: str, safe: bool, msg_id: Optional[str],
              created: Optional[int] = None) -> Push:
        xml = (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
               f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{extra}</xml>")
        return self.wrap(xml, openid, safe, msg_id)

    def wrap(self, xml: str, openid: str, safe: bool = False, msg_id: Optional[str] = None) -> Push:
        """Sign (and in safe mode encrypt) a body as WeChat does; the query string WeChat adds."""
        timestamp, nonce = str(int(time.time())), _nonce()
        params = {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": openid}
        if safe:
            assert self.crypto is not None, "safe mode needs the EncodingAESKey"
            body = self.crypto.encrypt_message(xml, nonce, timestamp)
            encrypted = xmltodict.parse(body)["xml"]
            # WeChat's safe-mode push carries ToUserName and Encrypt; its msg_signature is over Encrypt.
            xml = (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                   f"<Encrypt><![CDATA[{encrypted['Encrypt']}]]></Encrypt></xml>")
            params.update(encrypt_type="aes", msg_signature=encrypted["MsgSignature"])
        return Push(xml, params, msg_id)

    # ---- talking to the channel ----------------------------------------------------------------------
    def post(self, push: Push, timeout: float = 10) -> requests.Response:
        return requests.post(self.url, params=push.params, data=push.xml.encode("utf-8"),
                             headers={"Content-Type": "text/xml"}, timeout=timeout)

    def url_check(self, echostr: str, token: Optional[str] = None) -> Dict[str, str]:
        """The query string of WeChat's URL check (服务器配置 → 提交), signed with `token` (default: the account's)."""
        timestamp, nonce = str(int(time.time())), _nonce()
        return {"signature": sign(token or self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                "echostr": echostr}

    def verify_url(self, echostr: str, token: Optional[str] = None) -> requests.Response:
        return requests.get(self.url, params=self.url_check(echostr, token), timeout=10)

    def reply(self, response: requests.Response, push: Push) -> Optional[Dict[str, str]]:
        """The passive reply's fields (ToUserName, FromUserName, MsgType, Content …), or None for "success"."""
        body = response.text
        if response.status_code != 200 or body in ("", "success"):
            return None
        if push.params.get("encrypt_type") == "aes":
            encrypted = xmltodict.parse(body)["xml"]
            body = self.crypto.decrypt_message(body, encrypted["MsgSignature"], encrypted["TimeStamp"], encrypted["Nonce"])
        return dict(xmltodict.parse(body)["xml"])

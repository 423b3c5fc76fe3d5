"""WeChat's message push to an Official Account's server, both ways: check the signature, open the
XML (decrypting it in safe mode, 安全模式), read what the customer did, and write the passive reply
(encrypted when the message was). wechatpy's signer, crypto and parser do the work.

The signature and the AES of one message are microseconds of CPU, so the channel runs them on its
event loop; the calls that wait on the network (wechat_api.py) go to a thread.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

# What a customer did, as the channel answers it.
TEXT = "text"            # a message for the bot (and the agents)
SUBSCRIBE = "subscribe"  # followed the account (also by scanning a QR code): a greeting
IMAGE = "image"          # a picture or a video: not read yet, answered honestly
VOICE = "voice"          # a voice message: not heard yet, answered honestly
IGNORED = "ignored"      # unsubscribe, menu clicks, location reports …: answered "success", nothing else
MEDIA = {"image": IMAGE, "video": IMAGE, "shortvideo": IMAGE, "voice": VOICE}


class BadSignature(ValueError):
    """Not signed with the account's token (or, in safe mode, for another AppID): not from WeChat."""


class Malformed(ValueError):
    """Signed, but not a message WeChat's push would send (broken XML, missing fields, bad cipher text)."""


class SafeModeOff(ValueError):
    """WeChat sent an encrypted message but KEFU_WECHAT_AES_KEY is not set."""


@dataclass(frozen=True)
class Incoming:
    kind: str
    key: str      # once-only: m:<MsgId> for messages, e:<OpenID>:<CreateTime>:<event> for events
    openid: str   # FromUserName: the customer, and Rasa's sender id
    account: str  # ToUserName: the Official Account's original id, which the reply comes from
    text: str = ""
    msg_id: str = ""
    media_id: str = ""  # a picture's MediaId: its bytes come from the media API (a photo in a case)


def _arg(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    return value if isinstance(value, str) else ""


class Envelope:
    def __init__(self, token: str, aes_key: str, app_id: str):
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def signed(self, args: Mapping[str, Any]) -> bool:
        """`signature` = sha1 of the sorted token, timestamp and nonce (every request WeChat makes)."""
        signature, timestamp, nonce = _arg(args, "signature"), _arg(args, "timestamp"), _arg(args, "nonce")
        if not (signature and timestamp and nonce):
            return False
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce)
        return hmac.compare_digest(signer.signature, signature)

    @staticmethod
    def encrypted(args: Mapping[str, Any]) -> bool:
        return _arg(args, "encrypt_type") == "aes"

    def open(self, body: bytes, args: Mapping[str, Any]) -> Incoming:
        """The customer's message or event; BadSignature, SafeModeOff or Malformed."""
        if not self.signed(args):
            raise BadSignature("signature does not match the account's token")
        xml: Any = body
        if self.encrypted(args):
            if self.crypto is None:
                raise SafeModeOff("WeChat sent a safe-mode (encrypted) message and KEFU_WECHAT_AES_KEY is not set")
            try:
                xml = self.crypto.decrypt_message(body, _arg(args, "msg_signature"), _arg(args, "timestamp"), _arg(args, "nonce"))
            except InvalidSignatureException:
                raise BadSignature("msg_signature does not match the encrypted message") from None
            except InvalidAppIdException:
                raise BadSignature("the encrypted message is for another AppID") from None
            except Exception as error:  # broken XML, no <Encrypt>, bad base64 or padding
                raise Malformed(f"cannot decrypt: {type(error).__name__}") from None
        try:
            return read(parse_message(xml))
        except Malformed:
            raise
        except Exception as error:  # broken XML, no MsgType …
            raise Malformed(f"not a WeChat message: {type(error).__name__}: {str(error)[:120]}") from None

    def reply(self, incoming: Incoming, text: str, args: Mapping[str, Any]) -> str:
        """The passive reply: one text message, encrypted when the message was."""
        reply = TextReply(source=incoming.account, target=incoming.openid, content=text.replace("]]>", "]]]]><![CDATA[>"))
        xml = reply.render()
        if self.encrypted(args) and self.crypto is not None:
            return self.crypto.encrypt_message(xml, _arg(args, "nonce"), _arg(args, "timestamp") or None)
        return xml


def read(message: Any) -> Incoming:
    data = getattr(message, "_data", None) or {}
    openid, account, created = data.get("FromUserName"), data.get("ToUserName"), data.get("CreateTime")
    if not (isinstance(openid, str) and openid and isinstance(account, str) and account and created):
        raise Malformed("no FromUserName, ToUserName or CreateTime")
    kind = str(data.get("MsgType") or "").lower()
    if kind == "event":
        event = str(data.get("Event") or "").lower()
        # wechatpy renames a subscribe through a QR code subscribe_scan (subscribe_scan_product …)
        kind = SUBSCRIBE if event.startswith("subscribe") else IGNORED
        return Incoming(kind, f"e:{openid}:{created}:{event}", openid, account)
    msg_id = str(data.get("MsgId") or "")
    if not msg_id.isdigit():
        raise Malformed(f"a {kind or 'message'} without a MsgId")
    if kind == "text":
        return Incoming(TEXT, f"m:{msg_id}", openid, account, text=str(data.get("Content") or ""), msg_id=msg_id)
    media_id = str(data.get("MediaId") or "") if kind == "image" else ""
    return Incoming(MEDIA.get(kind, IGNORED), f"m:{msg_id}", openid, account, msg_id=msg_id, media_id=media_id)


def handshake(envelope: Envelope, args: Mapping[str, Any]) -> Optional[str]:
    """WeChat's URL check (服务器配置 → 提交): the echostr back when the signature holds, else None."""
    return _arg(args, "echostr") if envelope.signed(args) else None

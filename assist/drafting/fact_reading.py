"""The facts a customer's words and the case give: order number, carrier, product … made
JSON-safe and short (shoppers type anything), and numbers read as numbers."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Dict, Mapping, Optional

from assist.shop.cues import Cues

# Entity names other bots use for the facts we know.
ENTITY_ALIASES = {"order_no": "order_id", "order_number": "order_id", "order": "order_id",
                  "express": "carrier", "courier": "carrier", "logistics": "carrier",
                  "tracking": "tracking_no", "tracking_number": "tracking_no", "item": "product"}
FACT_ENTITIES = ("order_id", "carrier", "product", "tracking_no", "last_location")
_ORDER_ID = re.compile(r"(?<![0-9A-Za-z])(\d{10,24})(?![0-9])")
_ORDER_ID_LABELLED = re.compile(r"(?:订单号?|单号)\s*(?:是|为|:)?\s*([A-Za-z0-9-]{6,32})")
_PHONE = re.compile(r"^1[3-9]\d{9}$")
# 这款 / 这件 / 同款: the goods are on the customer's screen (the chat opened from the product page).
_THIS_ONE = re.compile(r"这款|这件|这种|同款|这个款|这套|这双|[A-Za-z0-9一二三四五六七八九十]+(?:号)?(?:套餐|款)")
# Goods named by count and measure (买10罐山核桃, 5个单套盒): the customer said which goods, in words
# no template should echo; they count as given, so nobody asks "哪一款" again.
_GOODS = re.compile(r"(?:\d+|[一二两三四五六七八九十几]+)\s*(?:个|件|罐|份|包|盒|瓶|箱|袋|套|双|条|支|斤|台|桶|只|片|块|盒装)"
                    r"(?!星期|礼拜|小时|钟头|月|人|问题|地方)([^\s\d有送的了吧吗呢么是都也还就要能可在现我你这那一二两三四五六七八九十几，,。.！!？?~～]{2,6})")
# A verb or a place word ends the goods' name; one that starts it means no goods were named.
_GOODS_END = re.compile(r"[看拆放用吃穿试买寄退换坏来给让被把拿到着]")
_NOT_GOODS_START = re.compile(r"[里来去给被让把跟和与对从向往用看说问打拿放开发寄退换买卖人]|外面|上面|下面")
MAX_FACT_CHARS = 200


def as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)

def json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return as_text(value)[:MAX_FACT_CHARS]

def read_facts(facts: Any, entities: Any, norm: str, cues: Cues) -> Dict[str, Any]:
    known: Dict[str, Any] = {}
    if isinstance(facts, Mapping):
        for key, value in facts.items():
            if isinstance(key, str) and value is not None and value != "":
                known[key] = json_safe(value)
    for ent in entities if isinstance(entities, (list, tuple)) else ():
        if not isinstance(ent, Mapping):
            continue
        name = ent.get("entity")
        if not isinstance(name, str):
            continue
        name = ENTITY_ALIASES.get(name, name)
        value = ent.get("value")
        if name in FACT_ENTITIES and value not in (None, "") and name not in known:
            known[name] = json_safe(value)
    if "order_id" not in known:
        labelled = _ORDER_ID_LABELLED.search(norm)
        numbers = [n for n in _ORDER_ID.findall(norm) if not _PHONE.match(n)]
        if labelled:
            known["order_id"] = labelled.group(1)
        elif numbers:
            known["order_id"] = numbers[0]
    if "product" not in known and "goods_said" not in known:
        goods = goods_named(norm)
        if goods:
            known["goods_said"] = goods
    if "carrier" not in known:
        found = cues.carriers.find(norm)
        if found:
            known["carrier"] = cues.carrier_names.get(found[0].word.lower(), found[0].word)
    return known

def goods_named(norm: str) -> Optional[str]:
    """The goods a customer names (买10罐山核桃, 这款), or None. What follows a count is goods only
    up to the next verb (一盒储存袋看了一下 → 一盒储存袋), and never a place or an action (一袋里面…,
    一个来安慰…: no goods)."""
    for found in _GOODS.finditer(norm):
        words = _GOODS_END.split(found.group(1), 1)[0]
        if len(words) >= 2 and not _NOT_GOODS_START.match(words):
            return found.group(0)[: found.start(1) - found.start(0)] + words
    found = _THIS_ONE.search(norm)
    return found.group(0) if found else None

def is_known(fact: str, facts: Mapping[str, Any]) -> bool:
    """Whether the customer or the case gave this fact (goods named in words count as the product)."""
    if fact in facts or f"{fact}_seen" in facts:  # *_seen: the agent's words show they have it in hand
        return True
    return fact == "product" and any(k in facts for k in ("goods_said", "photo", "product_code"))

def int_fact(facts: Mapping[str, Any], key: str) -> Optional[int]:
    value = facts.get(key)
    if isinstance(value, bool):
        return None
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError, OverflowError):  # None, "abc", inf
        return None

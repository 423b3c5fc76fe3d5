"""The facts a case knows: what the customer's words name (order number, carrier, product, how
long), what Rasa remembers from earlier turns, what the shop's page passed in, and what the
order store says about the order — looked up once per order number, whoever opened the case."""
from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from assist.integrations.orders import Order
from assist.shop.labels import label

logger = logging.getLogger(__name__)

ENTITY_FACTS = ("order_id", "carrier", "product", "duration")
# What an order lookup adds; another order number given later replaces all of it.
ORDER_FACTS = frozenset({f.name for f in fields(Order)} | {"days_late", "status_zh", "order_id_from_shop", "order_lookup"})
# A photo the customer sent in this case (the web chat's upload, WeChat's picture): what the panel says.
PHOTO_FACT = "顾客已发图片"
# The order number the facts were looked up for (underscore: bookkeeping, not shown to agents).
LOOKED_UP = "_looked_up"


def entity_facts(entities: Sequence[Mapping[str, Any]], remembered: Mapping[str, Any]) -> Dict[str, Any]:
    """The latest message's entities, else what Rasa remembers (slots) from earlier turns."""
    facts: Dict[str, Any] = {}
    for name in ENTITY_FACTS:
        value = next((e.get("value") for e in entities or () if e.get("entity") == name and e.get("value")), None)
        value = value or remembered.get(name)
        if value:
            facts[name] = value
    return facts


def gather(known: Mapping[str, Any], entities: Sequence[Mapping[str, Any]], remembered: Mapping[str, Any],
           chat_context: Optional[Mapping[str, Any]], find_order: Optional[Callable[[str], Any]]) -> Dict[str, Any]:
    """`known` (the case's facts so far) updated with this message's, and the order looked up when
    its number is new. A failing order store costs the lookup, never the customer's answer."""
    facts = dict(known)
    said = entity_facts(entities, remembered)
    if said.get("order_id") and known.get("order_id") and str(said["order_id"]) != str(known["order_id"]):
        facts = {k: v for k, v in facts.items() if k not in ORDER_FACTS and k != LOOKED_UP}  # another order now
    facts.update(said)
    if not facts.get("order_id") and chat_context and chat_context["context"].get("order_id"):
        # The order the shop's page passed into the chat (console/WEBCHAT.md): read from the store,
        # where the console put it after checking the shop's signature, never from client metadata.
        facts["order_id"] = chat_context["context"]["order_id"]
        facts["order_id_from_shop"] = "verified" if chat_context["verified"] else "unsigned"
    order_id = facts.get("order_id")
    if order_id and facts.get(LOOKED_UP) != str(order_id) and find_order is not None:
        order, failed = None, False
        try:
            order = find_order(str(order_id))
        except Exception as error:  # OrderStoreError, a timeout: draft without the order's facts
            logger.warning("order lookup for %s failed: %s", order_id, error)
            failed = True
        if order is not None:
            facts.update({k: v for k, v in order.to_facts().items() if v is not None})
            facts[LOOKED_UP] = str(order_id)
            facts.pop("order_lookup", None)
        elif not failed and not str(order_id).startswith("["):
            # No such order: the number stays what the customer said, and the agent reads that it
            # matched nothing (a 12-digit item number is the usual reason), not an order's facts.
            facts["order_lookup"] = label("order_lookup", "not_found")
    return facts

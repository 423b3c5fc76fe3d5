"""The fixed intent names (DESIGN.md); builders may add more in their NLU data."""
from __future__ import annotations

from typing import Tuple

INTENTS: Tuple[str, ...] = (
    "greet", "goodbye", "thanks", "affirm", "deny", "order_status", "delivery_delay", "complaint",
    "price_haggle", "refund_return", "product_inquiry", "request_human", "out_of_scope",
)
# A person takes these over; the bot only holds the line.
PERSON_CONCERNS: Tuple[str, ...] = ("complaint", "price_haggle", "delivery_delay", "refund_return", "request_human")

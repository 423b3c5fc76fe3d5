"""Order facts for the bot and the drafts: a store interface, a SQLite demo store and an
HTTP client that a shop points at its own order API.

`open_order_store()` reads KEFU_ORDERS: `sqlite:///path` (default `.kefu/orders.db`, seeded
with assist/integrations/demo_orders.yml) or an `http(s)://` base URL answering GET {base}/orders/{id}
with the Order fields as JSON (404 when unknown).
"""
from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Optional

import requests
import yaml

DEMO_ORDERS = Path(__file__).with_name("demo_orders.yml")
STATUSES = ("unpaid", "paid", "shipped", "in_transit", "delivered", "cancelled")
STATUS_ZH = {
    "unpaid": "待付款",
    "paid": "已付款，待发货",
    "shipped": "已发货",
    "in_transit": "运输中",
    "delivered": "已签收",
    "cancelled": "已取消",
}
ORDER_ID = re.compile(r"^\d{6,24}$")
TIMES = ("ordered_at", "shipped_at", "promised_by", "last_update_at")


class OrderStoreError(RuntimeError):
    """The order store could not answer (down, timeout, bad data); the bot says so politely."""


@dataclass(frozen=True)
class Order:
    order_id: str
    status: str
    product: Optional[str] = None
    carrier: Optional[str] = None
    tracking_no: Optional[str] = None
    ordered_at: Optional[datetime] = None
    shipped_at: Optional[datetime] = None
    promised_by: Optional[datetime] = None
    last_update_at: Optional[datetime] = None
    last_location: Optional[str] = None
    customer_id: Optional[str] = None

    def days_late(self, now: Optional[datetime] = None) -> int:
        """Whole days past the promised date; 0 when on time, delivered or cancelled."""
        if self.status in ("delivered", "cancelled") or self.promised_by is None:
            return 0
        return max(0, ((now or datetime.now()) - self.promised_by).days)

    @property
    def status_zh(self) -> str:
        return STATUS_ZH.get(self.status, self.status)

    def to_facts(self, now: Optional[datetime] = None) -> Dict[str, Any]:
        """JSON-safe facts for the Situation and the drafts."""
        facts = {k: (v.isoformat(timespec="minutes") if isinstance(v, datetime) else v) for k, v in asdict(self).items()}
        facts["days_late"] = self.days_late(now)
        facts["status_zh"] = self.status_zh
        return facts

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Order":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in TIMES:
            if isinstance(values.get(key), str):
                values[key] = datetime.fromisoformat(values[key])
        if not values.get("order_id") or values.get("status") not in STATUSES:
            raise OrderStoreError(f"order record lacks an order_id or has an unknown status: {data!r}")
        values["order_id"] = str(values["order_id"])
        return cls(**values)


class SqliteOrderStore:
    """Demo store: one table, seeded from demo_orders.yml when the file is new."""

    def __init__(self, path: Path, seed_file: Optional[Path] = DEMO_ORDERS, now: Optional[datetime] = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, status TEXT NOT NULL, product TEXT,"
            " carrier TEXT, tracking_no TEXT, ordered_at TEXT, shipped_at TEXT, promised_by TEXT,"
            " last_update_at TEXT, last_location TEXT, customer_id TEXT)"
        )
        empty = self._conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0
        if empty and seed_file is not None:
            for order in load_demo_orders(seed_file, now or datetime.now()):
                self.add(order)

    def add(self, order: Order) -> None:
        row = asdict(order)
        for key in TIMES:
            row[key] = row[key].isoformat() if row[key] else None
        with self._lock, self._conn:
            self._conn.execute(
                f"INSERT OR REPLACE INTO orders ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()),
            )

    def find(self, order_id: str) -> Optional[Order]:
        if not ORDER_ID.match(str(order_id or "")):
            return None
        with self._lock:
            cursor = self._conn.execute("SELECT * FROM orders WHERE order_id = ?", (str(order_id),))
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        return Order.from_dict(dict(zip(names, row))) if row else None

    def close(self) -> None:
        self._conn.close()


class HttpOrderStore:
    """A shop's own order API. Every call has a timeout; failures raise OrderStoreError."""

    def __init__(self, base_url: str, token: Optional[str] = None, timeout: float = 3.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def find(self, order_id: str) -> Optional[Order]:
        if not ORDER_ID.match(str(order_id or "")):
            return None
        try:
            response = self.session.get(f"{self.base_url}/orders/{order_id}", timeout=self.timeout)
        except requests.RequestException as error:
            raise OrderStoreError(f"order API {self.base_url} unreachable: {error}") from error
        if response.status_code == 404:
            return None
        if not response.ok:
            raise OrderStoreError(f"order API {self.base_url} answered {response.status_code}")
        try:
            return Order.from_dict(response.json())
        except ValueError as error:
            raise OrderStoreError(f"order API {self.base_url} sent malformed JSON: {error}") from error


def load_demo_orders(path: Path = DEMO_ORDERS, now: Optional[datetime] = None) -> list:
    now = (now or datetime.now()).replace(second=0, microsecond=0)
    try:
        records = (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("orders", [])
    except (OSError, yaml.YAMLError) as error:
        raise OrderStoreError(f"{path}: cannot read demo orders: {error}") from error

    def ago(days):
        return None if days is None else now - timedelta(days=days)

    return [
        Order(
            order_id=str(r["order_id"]),
            status=r["status"],
            product=r.get("product"),
            carrier=r.get("carrier"),
            tracking_no=r.get("tracking_no"),
            ordered_at=ago(r.get("ordered_days_ago")),
            shipped_at=ago(r.get("shipped_days_ago")),
            promised_by=ago(r.get("promised_days_ago")),
            last_update_at=ago(r.get("last_update_days_ago")),
            last_location=r.get("last_location"),
            customer_id=r.get("customer_id"),
        )
        for r in records
    ]


def open_order_store(url: Optional[str] = None, token: Optional[str] = None):
    """The order store at `url`, else KEFU_ORDERS (settings): the demo SQLite file or the shop's API."""
    if url is None:
        from assist.settings import get_settings

        settings = get_settings()
        url, token = settings.orders_url, token or settings.orders_token
    if url.startswith(("http://", "https://")):
        return HttpOrderStore(url, token=token or None)
    if url.startswith("sqlite:///"):
        return SqliteOrderStore(Path(url[len("sqlite:///"):]))
    raise ValueError(f"KEFU_ORDERS must be sqlite:///path or an http(s) URL, not {url!r}")

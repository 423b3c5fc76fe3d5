"""The order store: the SQLite demo store and the HTTP client a shop's own API replaces it with."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from assist.integrations.orders import HttpOrderStore, Order, OrderStoreError, SqliteOrderStore, load_demo_orders, open_order_store

NOW = datetime(2026, 11, 20, 10, 0)


@pytest.fixture
def store(tmp_path):
    s = SqliteOrderStore(tmp_path / "orders.db", now=NOW)
    yield s
    s.close()


def test_demo_orders_are_seeded_relative_to_now(store):
    late = store.find("1234567890")
    assert late.carrier == "中通" and late.status == "in_transit"
    assert late.days_late(NOW) == 5
    assert store.find("2023110188").days_late(NOW) == 0


def test_unknown_and_malformed_ids_find_nothing(store):
    assert store.find("9999999999") is None
    assert store.find("'; DROP TABLE orders; --") is None
    assert store.find("") is None
    assert store.find("1234567890") is not None  # the table survived


def test_delivered_and_cancelled_orders_are_never_late():
    old = NOW - timedelta(days=30)
    assert Order("1", "delivered", promised_by=old).days_late(NOW) == 0
    assert Order("1", "cancelled", promised_by=old).days_late(NOW) == 0
    assert Order("1", "in_transit", promised_by=old).days_late(NOW) == 30


def test_facts_are_json_safe(store):
    facts = store.find("1234567890").to_facts(NOW)
    json.dumps(facts, ensure_ascii=False)
    assert facts["days_late"] == 5 and facts["status_zh"] == "运输中"


def test_seeding_happens_once(tmp_path):
    SqliteOrderStore(tmp_path / "o.db", now=NOW).add(Order("1112223334", "paid"))
    again = SqliteOrderStore(tmp_path / "o.db", now=NOW)
    assert again.find("1112223334") is not None and again.find("1234567890") is not None


def test_open_order_store_rejects_unknown_urls():
    with pytest.raises(ValueError, match="KEFU_ORDERS"):
        open_order_store("ftp://example")


class _OrderApi(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        order_id = self.path.rsplit("/", 1)[-1]
        if self.headers.get("Authorization") != "Bearer secret":
            self.send_response(401)
            self.end_headers()
        elif order_id == "4445556667":
            body = json.dumps({"order_id": order_id, "status": "shipped", "carrier": "顺丰", "promised_by": "2026-11-18T12:00"})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())
        elif order_id == "5556667778":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{not json")
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def order_api():
    server = HTTPServer(("127.0.0.1", 0), _OrderApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_http_store_reads_a_shop_api(order_api):
    store = HttpOrderStore(order_api, token="secret", timeout=2)
    order = store.find("4445556667")
    assert order.carrier == "顺丰" and order.days_late(NOW) == 1
    assert store.find("1010101010") is None


def test_http_store_reports_bad_answers_and_a_server_that_is_down(order_api):
    with pytest.raises(OrderStoreError, match="malformed"):
        HttpOrderStore(order_api, token="secret").find("5556667778")
    with pytest.raises(OrderStoreError, match="401"):
        HttpOrderStore(order_api, token="wrong").find("4445556667")
    with pytest.raises(OrderStoreError, match="unreachable"):
        HttpOrderStore("http://127.0.0.1:9", timeout=0.5).find("4445556667")


def test_demo_file_loads():
    orders = load_demo_orders(now=NOW)
    assert len({o.order_id for o in orders}) == len(orders) >= 5

"""Signing in to the console pages: hashed passwords, an HttpOnly SameSite session cookie,
CSRF on every state-changing request, sign-out, and nothing reachable without signing in."""
from __future__ import annotations

import json

import pytest

from assist.store import NotFound, SuggestionStore
from console.app import create_app
from console.passwords import hash_password, verify_password
from console.routes.auth import SESSION_COOKIE
from assist.settings import Settings

PASSWORD = "correct horse 电池"


@pytest.fixture
def store(tmp_path):
    store = SuggestionStore.migrated(f"sqlite:///{tmp_path / 's.db'}")
    store.agents.create_agent("xiaowang")
    store.agents.set_password_hash("xiaowang", hash_password(PASSWORD))
    return store


@pytest.fixture
def app(store, tmp_path):
    settings = Settings(store_url=store.url, events_url=f"sqlite:///{tmp_path / 'events.db'}", rasa_jwt_secret="t" * 32)
    return create_app(settings, store=store, workers=False)


def sign_in(app, name="xiaowang", password=PASSWORD):
    _, response = app.test_client.post("/login", data=json.dumps({"name": name, "password": password}),
                                       headers={"Content-Type": "application/json"})
    return response


def session_of(response):
    return response.cookies.get(SESSION_COOKIE)


def test_passwords_are_hashed_with_argon2id(store):
    stored = store.agents.password_hash("xiaowang")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD) and not verify_password(stored, "wrong password")
    assert not verify_password(None, PASSWORD)
    with pytest.raises(ValueError):
        hash_password("short")
    with pytest.raises(NotFound):
        store.agents.set_password_hash("nobody", hash_password("long enough"))


def test_sign_in_sets_an_httponly_samesite_cookie_and_a_csrf_token(app):
    response = sign_in(app)
    assert response.status == 200 and response.json["agent"] == "xiaowang" and len(response.json["csrf"]) > 20
    header = response.headers.get("set-cookie")
    assert f"{SESSION_COOKIE}=" in header and "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header


@pytest.mark.parametrize("name, password", [("xiaowang", "wrong password"), ("nobody", PASSWORD)])
def test_a_wrong_name_or_password_is_refused_alike(app, name, password):
    response = sign_in(app, name, password)
    assert response.status == 401 and response.json["error"]["code"] == "bad_credentials"
    assert session_of(response) is None


def test_sign_in_must_be_json_and_is_throttled(app):
    _, form = app.test_client.post("/login", data="name=xiaowang&password=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 415
    for _ in range(5):
        assert sign_in(app, password="wrong password").status == 401
    locked = sign_in(app)
    assert locked.status == 429  # even the right password waits now
    # The sign-in page shows this message to the agent as it is: in Chinese.
    assert locked.json["error"] == {"code": "too_many_attempts", "message": "登录失败次数太多，请五分钟后再试"}


@pytest.mark.parametrize("path", ["/", "/history", "/api/cases", "/api/live", "/api/figures", "/api/search?q=x", "/nowhere"])
def test_nothing_is_reachable_without_signing_in(app, path):
    _, response = app.test_client.get(path, allow_redirects=False)
    if path.startswith("/api/"):
        assert response.status == 401 and response.json["error"]["code"] == "unauthorized"
    else:
        assert response.status == 302 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", ["/health", "/login", "/static/console.js", "/static/vendor/socket.io.min.js", "/chat", "/chat/config.json", "/chat/embed.js"])
def test_public_paths(app, path):
    _, response = app.test_client.get(path, allow_redirects=False)
    assert response.status == 200, path


def test_cookie_session_reads_freely_but_writes_only_with_csrf(app, store):
    signed = sign_in(app)
    cookies = {SESSION_COOKIE: session_of(signed)}
    csrf = signed.json["csrf"]
    _, me = app.test_client.get("/api/me", cookies=cookies)
    assert me.status == 200 and me.json["agent"] == "xiaowang" and me.json["csrf"] == csrf
    assert me.json["timers"] == {"amber_seconds": 60.0, "red_seconds": 180.0}
    _, page = app.test_client.get("/", cookies=cookies)
    assert page.status == 200 and "客服工作台" in page.text

    payload = json.dumps({"text": "您好"})
    _, without = app.test_client.post("/api/check", data=payload, cookies=cookies)
    assert without.status == 403 and without.json["error"]["code"] == "csrf"
    _, wrong = app.test_client.post("/api/check", data=payload, cookies=cookies, headers={"X-CSRF-Token": "guess"})
    assert wrong.status == 403
    _, right = app.test_client.post("/api/check", data=payload, cookies=cookies, headers={"X-CSRF-Token": csrf})
    assert right.status == 200


def test_bearer_tokens_still_work_without_csrf(app, store):
    token = store.agents.create_agent("api-client")
    _, response = app.test_client.post("/api/check", data=json.dumps({"text": "您好"}), headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


def test_sign_out_ends_the_session(app):
    signed = sign_in(app)
    cookies = {SESSION_COOKIE: session_of(signed)}
    _, refused = app.test_client.post("/logout", cookies=cookies)
    assert refused.status == 403  # sign-out is a state change too
    _, out = app.test_client.post("/logout", cookies=cookies, headers={"X-CSRF-Token": signed.json["csrf"]})
    assert out.status == 200 and "Max-Age=0" in out.headers.get("set-cookie")
    _, after = app.test_client.get("/api/me", cookies=cookies)
    assert after.status == 401


def test_a_new_password_ends_every_session(app, store):
    cookies = {SESSION_COOKIE: session_of(sign_in(app))}
    store.agents.set_password_hash("xiaowang", hash_password("another password"))
    _, after = app.test_client.get("/api/me", cookies=cookies)
    assert after.status == 401


def test_pages_carry_a_strict_content_security_policy(app):
    signed = sign_in(app)
    _, page = app.test_client.get("/", cookies={SESSION_COOKIE: session_of(signed)})
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    _, chat = app.test_client.get("/chat")
    chat_csp = chat.headers["content-security-policy"]
    assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005" in chat_csp and "frame-ancestors *" in chat_csp


def test_pages_load_nothing_from_elsewhere_and_never_write_html():
    from pathlib import Path

    static = Path(__file__).resolve().parents[2] / "console" / "static"
    for html in static.glob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "<script>" not in text and "style=" not in text, html.name
    for script in static.glob("*.js"):
        code = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in code, (script.name, sink)

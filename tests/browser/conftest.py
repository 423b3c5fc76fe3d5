"""The browser tests' fixtures: headless Chromium (the system's, never a downloaded one), the
real stack's suggestion store, agents with passwords (two agents and a supervisor), an empty
queue before each test, and fresh browser contexts (separate people)."""
from __future__ import annotations

import shutil

import pytest

from assist.settings import get_settings
from console_pages import AGENTS, PASSWORD, SUPERVISOR

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
WAIT_MS = 30_000


def find_chromium():
    for name in (get_settings().chromium, "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session", autouse=True)
def chromium_path():
    """Checked first, so a machine without a browser skips before starting any server."""
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium found: run scripts/install_browser.sh (apt-get install chromium fonts-noto-cjk) or set KEFU_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed: run make setup")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def store(stack):
    from assist.store import SuggestionStore

    return SuggestionStore(stack.store_url)


@pytest.fixture(scope="module")
def agents(store):
    from console.passwords import hash_password

    for name in AGENTS:
        store.agents.create_agent(name, role="agent")
        store.agents.set_password_hash(name, hash_password(PASSWORD))
    store.agents.create_agent(SUPERVISOR, role="supervisor")
    store.agents.set_password_hash(SUPERVISOR, hash_password(PASSWORD))
    return AGENTS


@pytest.fixture(autouse=True)
def empty_queue(stack, store):
    """Each test starts with no open case (other tests share the stack)."""
    from assist.store import CANCELLED

    for case in store.queue.open_queue():
        store.cases.close_case(case["id"], state=CANCELLED)
    yield


@pytest.fixture
def pages(browser):
    """New browser contexts (separate cookies and storage: separate people), closed after the test."""
    contexts = []

    def new(width=1280, height=800):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("dialog", lambda dialog: (page.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        return page

    yield new
    for context in contexts:
        context.close()

"""Every process logs one line per event to the terminal and a rotating file, with no secrets in
it and failure loops rate-limited (assist/logs.py)."""
from __future__ import annotations

import logging
import logging.config
import logging.handlers

import pytest
import requests
import yaml

from assist.integrations.rasa import RasaClient, RasaUnavailable, without_queries
from assist.logs import LineFormatter, OperatorFilter, RepeatLimit, configure, log_event, scrub
from assist.settings import load_settings
from kefu_rasa.dev.servers import ROOT, free_port

TOKEN = "s3cret-rasa-secret-0123456789abcdef"


@pytest.mark.parametrize("line", [
    f"GET http://127.0.0.1:5005/status?token={TOKEN} 200",
    f"POST /conversations/x/tracker/events?include_events=NONE&token={TOKEN}",
    f"python -m rasa run --enable-api --auth-token {TOKEN} --port 5005",
    f"rasa run --enable-api --jwt-secret {TOKEN} --jwt-method HS256",
    f"Authorization: Bearer {TOKEN}",
    f"{{'access_token={TOKEN}'}}",
])
def test_secrets_are_scrubbed_from_urls_command_lines_and_headers(line):
    cleaned = scrub(line)
    assert TOKEN not in cleaned and "***" in cleaned


def test_this_process_s_own_secrets_are_scrubbed_wherever_they_appear():
    assert scrub(f"the token is {TOKEN}, odd place", [TOKEN]) == "the token is ***, odd place"
    assert scrub("nothing to hide here", [TOKEN]) == "nothing to hide here"


def _record(msg, *args, level=logging.WARNING, name="kefu.console", exc_info=None):
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


def test_a_failure_loop_writes_five_lines_a_window_then_says_how_many_it_held_back():
    now = [0.0]
    limit = RepeatLimit(60, burst=5, clock=lambda: now[0])
    written = []
    for second in range(100):  # a worker failing every second for 100 s
        now[0] = float(second)
        record = _record("outbox failed; trying again: %s", f"error {second}")
        if limit.allow(record):
            written.append(record.getMessage())
    assert len(written) == 10  # five in each of the two windows
    assert written[5] == "outbox failed; trying again: error 60 [55 more like this in the last 60 s]"
    # Other templates, INFO lines and lines marked every_time are never held back.
    assert limit.allow(_record("follower failed"))
    assert all(limit.allow(_record("case_opened case=%s", i, level=logging.INFO)) for i in range(50))
    marked = _record("outbox failed; trying again: %s", "x")
    marked.every_time = True
    assert limit.allow(marked)


def test_the_filter_scrubs_messages_arguments_and_tracebacks_once_for_every_handler():
    check = OperatorFilter(60, [TOKEN])
    try:
        raise RasaUnavailable(f"unreachable: /status?token={TOKEN}")
    except RasaUnavailable:
        import sys

        record = _record("delivery %s failed: %s", 7, f"url?token={TOKEN}", exc_info=sys.exc_info())
    assert check.filter(record) and check.filter(record)  # a second handler gets the same verdict
    line = LineFormatter().format(record)
    assert TOKEN not in line and "delivery 7 failed: url?token=***" in line and "Traceback" in line


def test_the_rasa_client_keeps_secrets_and_queries_out_of_its_errors():
    client = RasaClient(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=2)
    with pytest.raises(RasaUnavailable) as error:
        client.events("a-customer")
    assert TOKEN not in str(error.value) and "/conversations/a-customer/tracker" in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__
    # A URL in an error keeps its path, never its query string (it used to carry ?token=).
    assert without_queries("Max retries exceeded with url: /status?token=abc (Caused by …)") == \
        "Max retries exceeded with url: /status?… (Caused by …)"


def test_access_log_lines_read_as_one_line_without_secrets():
    check = OperatorFilter(60, [TOKEN])
    record = _record("", level=logging.INFO, name="sanic.access")
    record.request, record.status, record.byte, record.host = f"GET http://h/status?token={TOKEN}", 200, 15, "127.0.0.1:5"
    assert check.filter(record)
    line = LineFormatter().format(record)
    assert line.endswith("INFO sanic.access: GET http://h/status?token=*** → 200 (15 B) from 127.0.0.1:5")


def test_configure_writes_a_rotating_file_in_the_log_dir_and_replaces_itself(tmp_path):
    settings = load_settings(data_dir=tmp_path, rasa_jwt_secret=TOKEN, log_max_mb=0.001, log_backups=2)
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        path = configure("console", settings, terminal=False)
        configure("console", settings, terminal=False)  # again: not doubled
        ours = [h for h in root.handlers if getattr(h, "_kefu", False)]
        assert path == tmp_path / "logs" / "console.log" and len(ours) == 1
        assert isinstance(ours[0], logging.handlers.RotatingFileHandler)
        event_logger = logging.getLogger("kefu.test")
        for n in range(40):
            log_event(event_logger, "case_opened", f"case-{n}", f"conv-{n}", by="action", token=TOKEN)
        ours[0].flush()
        text = path.read_text(encoding="utf-8")
        assert TOKEN not in text and "case_opened case=case-39 conversation=conv-39 by=action token=***" in text
        assert sorted(p.name for p in path.parent.iterdir()) == ["console.log", "console.log.1", "console.log.2"]
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_kefu", False)]:
            root.removeHandler(handler)
            handler.close()
        assert root.handlers == before


def test_rasa_logging_config_adds_the_file_and_scrubs_sanic_s_access_log(tmp_path, monkeypatch):
    """kefu_rasa/logging.yml, as `rasa run --logging-config-file` applies it."""
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KEFU_RASA_JWT_SECRET", TOKEN)
    root, access = logging.getLogger(), logging.getLogger("sanic.access")
    saved = (list(root.handlers), list(access.filters), access.propagate, access.level)
    try:
        logging.config.dictConfig(yaml.safe_load((ROOT / "kefu_rasa" / "logging.yml").read_text(encoding="utf-8")))
        access.setLevel(logging.INFO)
        record = access.makeRecord("sanic.access", logging.INFO, __file__, 1, "", (), None,
                                   extra={"request": f"GET /status?token={TOKEN}", "status": 200, "byte": 2, "host": "h"})
        access.handle(record)  # the logger's filter runs before any handler, Sanic's own too
        assert record.request == "GET /status?token=***"
        logging.getLogger("rasa.core").warning("model loaded from %s", f"http://x/?token={TOKEN}")
        for handler in root.handlers:
            handler.flush()
        text = (tmp_path / "logs" / "rasa.log").read_text(encoding="utf-8")
        assert "model loaded from http://x/?token=***" in text and TOKEN not in text
    finally:
        for handler in list(root.handlers):
            if handler not in saved[0]:
                root.removeHandler(handler)
                handler.close()
        access.filters[:] = saved[1]
        access.propagate, access.level = saved[2], saved[3]


def test_requests_errors_name_the_url_which_is_why_the_client_scrubs():
    """Why the client's errors drop query strings: requests puts the whole URL, query included, in its error."""
    with pytest.raises(requests.RequestException) as error:
        requests.get(f"http://127.0.0.1:{free_port()}/status", params={"token": TOKEN}, timeout=2)
    assert TOKEN in str(error.value)

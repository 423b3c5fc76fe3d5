"""A busy port is named with the process that holds it; restarts back off and give up (the
launcher's rules, kefu_rasa/dev/ports.py and supervisor.py)."""
from __future__ import annotations

import os
import socket
from collections import deque

from kefu_rasa.dev.ports import busy, command_line, holders, is_free, who_holds
from kefu_rasa.dev.servers import free_port
from kefu_rasa.dev.supervisor import RestartPolicy, exit_reason


def test_a_busy_port_is_named_with_the_process_holding_it():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not is_free(port) and holders(port) == [os.getpid()]
        said = who_holds(port)
        assert said.startswith(f"port {port} is in use by pid {os.getpid()} (") and "pytest" in said
        assert busy({"console": port, "rasa": free_port()}) == [f"console: {said}"]
    assert is_free(port) and who_holds(port) is None


def test_a_leftover_s_command_line_is_shown_without_its_token(tmp_path):
    proc = tmp_path / "4242"
    proc.mkdir()
    (proc / "cmdline").write_bytes(b"python\0-m\0rasa\0run\0--auth-token\0abcdefgh12345\0--port\x005005\0")
    assert command_line(4242, tmp_path) == "python -m rasa run --auth-token *** --port 5005"


def test_a_deep_checkout_does_not_push_the_telling_arguments_past_the_limit(tmp_path):
    proc = tmp_path / "4243"
    proc.mkdir()
    deep = "/" + "/".join(["a-rather-long-directory-name"] * 8)
    parts = [f"{deep}/.venv/bin/python", "-m", "rasa", "run", "--model", f"{deep}/models/kefu-0123.tar.gz",
             "--port", "5005", "--enable-api", "--auth-token", "abcdefgh12345", "--endpoints", f"{deep}/endpoints.yml"]
    (proc / "cmdline").write_bytes("\0".join(parts).encode() + b"\0")
    assert command_line(4243, tmp_path) == ("…/python -m rasa run --model …/kefu-0123.tar.gz --port 5005 "
                                            "--enable-api --auth-token *** --endpoints …/endpoints.yml")


def test_restarts_back_off_and_give_up_after_the_limit_within_the_window():
    policy = RestartPolicy(limit=3, window=100, max_delay=3)
    deaths = deque()
    assert [policy.delay(deaths, t) for t in (0, 1, 2)] == [1, 2, 3]  # 1 s, 2 s, then the cap
    assert policy.delay(deaths, 3) is None  # died again after three restarts within 100 s
    calm = deque()
    assert [policy.delay(calm, t) for t in (0, 150, 300, 450)] == [1, 1, 1, 1]  # far apart: never gives up


def test_no_restart_at_all_with_a_limit_of_zero():
    assert RestartPolicy(limit=0).delay(deque(), 0) is None


def test_exit_reasons_read_like_an_operator_would_say_them():
    assert exit_reason(-9) == "was killed by SIGKILL" and exit_reason(3) == "exited with 3"

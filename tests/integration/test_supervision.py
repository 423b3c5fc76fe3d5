"""The launcher's supervisor with small real processes (a few seconds, no Rasa): a child that dies
comes back, one that keeps dying makes it give up with exit status 1, and no child outlives a
launcher killed with SIGKILL. tests/integration/test_make_run.py does the same to `make run`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import requests

from kefu_rasa.dev.servers import free_port, wait_until
from kefu_rasa.dev.supervisor import Child, RestartPolicy, Supervisor, spawn_process

ROOT = Path(__file__).resolve().parents[2]
# A child with a health check: answers 200 with its pid on every GET.
SERVER = textwrap.dedent("""
    import http.server, os, sys
    class Pid(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = str(os.getpid()).encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Pid).serve_forever()
""")


def answering_pid(port):
    try:
        return int(requests.get(f"http://127.0.0.1:{port}/", timeout=1).text)
    except (requests.RequestException, ValueError):
        return None


def server_child(name, port):
    env = dict(os.environ)
    return Child(name, spawn=lambda: spawn_process([sys.executable, "-c", SERVER, str(port)], env, ROOT),
                 answers=lambda: answering_pid(port) is not None, port=port, start_timeout=20)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, only not yet reaped
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_a_child_that_dies_is_restarted_and_answers_again():
    port = free_port()
    child = server_child("console", port)
    child.proc = child.spawn()
    first = wait_until(lambda: answering_pid(port), timeout=20)
    supervisor = Supervisor([child], RestartPolicy(limit=3, window=60, max_delay=1))
    watcher = threading.Thread(target=supervisor.run, kwargs={"interval": 0.05})
    watcher.start()
    try:
        os.kill(first, signal.SIGKILL)
        # Back: a new process answers, and the supervisor has seen it answer (its next look).
        second = wait_until(lambda: (pid := answering_pid(port)) not in (None, first) and child.state == "up" and pid, timeout=30)
        assert second and second != first and len(child.deaths) == 1
    finally:
        supervisor.stop()
        watcher.join(30)
    assert not alive(second)  # stopping the supervisor stops its children


def test_a_child_that_keeps_dying_makes_the_launcher_give_up_with_status_1():
    port = free_port()
    crashing = Child("rasa", spawn=lambda: spawn_process([sys.executable, "-c", "import sys; sys.exit(3)"], dict(os.environ), ROOT),
                     answers=lambda: False, port=port)
    steady = server_child("console", free_port())
    steady.proc, crashing.proc = steady.spawn(), crashing.spawn()
    wait_until(lambda: answering_pid(steady.port), timeout=20)
    status = Supervisor([crashing, steady], RestartPolicy(limit=2, window=60, max_delay=0.1)).run(interval=0.05)
    assert status == 1 and len(crashing.deaths) == 3
    assert steady.proc.poll() is not None  # giving up stops the others too


LAUNCHER = textwrap.dedent("""
    import os, sys
    from kefu_rasa.dev.supervisor import Child, RestartPolicy, Supervisor, spawn_process
    children = []
    for port in sys.argv[2:]:
        proc = spawn_process([sys.executable, "-c", open(sys.argv[1]).read(), port], dict(os.environ), ".", die_with_parent=True)
        children.append(Child(port, spawn=lambda: None, answers=lambda: True, proc=proc))
    print(" ".join(str(c.proc.pid) for c in children), flush=True)
    sys.exit(Supervisor(children, RestartPolicy()).run())
""")


def test_children_die_with_a_launcher_killed_by_sigkill(tmp_path):
    server = tmp_path / "server.py"
    server.write_text(SERVER, encoding="utf-8")
    ports = [free_port(), free_port()]
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(server), *map(str, ports)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    pids = [int(p) for p in launcher.stdout.readline().split()]
    assert wait_until(lambda: all(answering_pid(p) for p in ports), timeout=20)
    launcher.kill()
    launcher.wait(10)
    assert wait_until(lambda: not any(alive(p) for p in pids), timeout=20), "children outlived their launcher"

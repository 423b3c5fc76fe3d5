"""The command line: draft, check, lint; JSON, stdin lines, and the Rasa parse with fallback."""
import io
import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt

import pytest

from assist.builders.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(argv, stdin=None, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_draft_prints_situation_and_ranked_drafts():
    code, out, err = run(["draft", "--no-rasa", "快递五天了还没到，再不到我就给差评"])
    assert code == 0
    assert "topic=delivery_delay" in out and "mood=angry" in out and "urgency=" in out
    assert "1. [" in out and "2. [" in out
    assert "core cue words" in err


def test_draft_json_shape_with_intent_and_facts():
    facts = json.dumps({"order_id": "4392018876512093", "carrier": "中通快递", "days_late": 5})
    code, out, _ = run(["draft", "--json", "--intent", "delivery_delay", "--facts", facts, "还没到"])
    data = json.loads(out)
    assert code == 0 and set(data) >= {"situation", "drafts"}
    assert data["situation"]["intent"] == "delivery_delay" and data["situation"]["intent_source"] == "given"
    assert data["nlu"]["source"] == "given"
    assert 2 <= len(data["drafts"]) <= 3
    assert all({"text", "score", "reason"} <= set(d) for d in data["drafts"])
    assert "4392018876512093" in data["drafts"][0]["text"]


def test_draft_stdin_gives_one_json_object_per_line(monkeypatch):
    code, out, _ = run(["draft", "-", "--no-rasa"], stdin="我要退货\n\n能便宜点吗\n转人工\n", monkeypatch=monkeypatch)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 3
    topics = [json.loads(line)["situation"]["topic"] for line in lines]
    assert topics == ["refund_return", "price_haggle", "request_human"]
    assert json.loads(lines[0])["nlu"] == {"source": "cues", "note": "core cue words (--no-rasa)"}


def test_unreachable_rasa_falls_back_and_says_so():
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, _ = run(["draft", "--json", "--rasa", url, "--timeout", "0.5", "我要退货"])
    data = json.loads(out)
    assert code == 0 and data["nlu"]["source"] == "cues"
    assert url in data["nlu"]["note"]
    assert data["situation"]["intent"] == "refund_return"


class _FakeRasa(BaseHTTPRequestHandler):
    seen = []
    authorization = []
    delay = 0.0

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, body))
        type(self).authorization.append(self.headers.get("Authorization"))
        time.sleep(type(self).delay)
        answer = {"intent": {"name": "complaint", "confidence": 0.9},
                  "intent_ranking": [{"name": "complaint", "confidence": 0.9},
                                     {"name": "refund_return", "confidence": 0.3}],
                  "entities": [{"entity": "order_id", "value": "5566778899001"}]}
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_rasa():
    server = HTTPServer(("127.0.0.1", 0), _FakeRasa)
    _FakeRasa.seen, _FakeRasa.authorization, _FakeRasa.delay = [], [], 0.0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _FakeRasa
    server.shutdown()
    server.server_close()


def test_draft_asks_rasa_for_the_parse(fake_rasa, monkeypatch):
    url, handler = fake_rasa
    monkeypatch.setenv("KEFU_RASA_JWT_SECRET", "s3cret" * 6)
    code, out, _ = run(["draft", "--json", "--rasa", url, "东西不好"])
    data = json.loads(out)
    assert code == 0 and data["nlu"] == {"source": "rasa"}
    assert data["situation"]["intent"] == "complaint"
    assert data["situation"]["concerns"][:2] == ["complaint", "refund_return"]
    assert data["situation"]["facts"]["order_id"] == "5566778899001"
    path, body = handler.seen[0]
    assert path == "/model/parse" and body == {"text": "东西不好"}
    claims = jwt.decode(handler.authorization[0].split(" ", 1)[1], "s3cret" * 6, algorithms=["HS256"])
    assert claims["user"]["role"] == "admin" and claims["exp"] - claims["iat"] == 60


def test_slow_rasa_times_out_and_falls_back(fake_rasa):
    url, handler = fake_rasa
    handler.delay = 2.0
    started = time.monotonic()
    code, out, _ = run(["draft", "--json", "--rasa", url, "--timeout", "0.3", "我要退货"])
    assert code == 0 and json.loads(out)["nlu"]["source"] == "cues"
    assert time.monotonic() - started < 1.8


def test_check_json_clean_and_dirty():
    code, out, _ = run(["check", "--json", "您好，请问有什么可以帮您？"])
    assert code == 0 and json.loads(out) == {"findings": []}
    code, out, _ = run(["check", "--json", "你好，这个不行"])
    findings = json.loads(out)["findings"]
    assert code == 1
    assert {f["rule"] for f in findings} >= {"address.nin", "refuse.cannot"}
    assert all(set(f) == {"rule", "severity", "span", "why", "fix"} for f in findings)
    severity = {f["rule"]: f["severity"] for f in findings}
    assert severity["address.nin"] == "block" and severity["close.polite"] == "advice"


def test_check_exit_code_follows_severity():
    # An agent's text with advice only can be sent; as a draft (--concern) it must be clean.
    code, out, _ = run(["check", "好的，我这就去仓库核实。"])
    assert code == 0 and "close.polite" in out and "advice" in out
    assert run(["check", "--concern", "complaint", "好的，我这就去仓库核实。"])[0] == 1


def test_check_text_and_stdin(monkeypatch):
    code, out, _ = run(["check", "这是公司规定"])
    assert code == 1 and "rule.shield" in out and "fix:" in out
    code, out, _ = run(["check", "-"], stdin="您好，请问有什么可以帮您？\n你好\n", monkeypatch=monkeypatch)
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 1 and lines[0] == {"findings": []} and lines[1]["findings"]


def _broken_copies(tmp_path):
    """The shipped data files with one problem planted in each."""
    import shutil

    shutil.copytree(ROOT / "assist" / "shop" / "replies", tmp_path / "replies")
    for name in ("etiquette.yml", "policy.yml", "cues.yml"):
        shutil.copy(ROOT / "assist" / "shop" / name, tmp_path / name)

    def plant(path, old, new):
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    plant(tmp_path / "etiquette.yml", "kind: words", "kind: wordz")
    plant(tmp_path / "etiquette.yml", "severity: advice", "severity: sometimes")
    plant(tmp_path / "policy.yml", "coupon_ceiling: 20", 'coupon_ceiling: "x"')
    plant(tmp_path / "replies" / "complaint.yml", "shape:", "shap:")
    return ["--rules", str(tmp_path / "etiquette.yml"), "--policy", str(tmp_path / "policy.yml"),
            "--replies", str(tmp_path / "replies"), "--cues", str(tmp_path / "cues.yml")]


def test_lint_reports_every_problem_in_one_pass(tmp_path):
    code, out, err = run(["lint", *_broken_copies(tmp_path)])
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[-1] == "lint: 5 problem(s)"
    assert any("etiquette.yml:" in line and "'wordz' is not one of" in line for line in lines)
    assert any("etiquette.yml:" in line and "'sometimes' is not one of" in line for line in lines)
    assert any("policy.yml:" in line and "coupon_ceiling" in line for line in lines)
    assert sum("complaint.yml:" in line for line in lines) == 2
    assert "does not load" in out


def test_lint_names_project_files_relative_to_the_project(tmp_path):
    from assist.drafting.lint import relative

    assert relative(str(ROOT / "assist" / "shop" / "etiquette.yml")) == "assist/shop/etiquette.yml"
    assert relative(str(tmp_path / "x.yml")) == str(tmp_path / "x.yml")
    # from any working directory
    done = subprocess.run([sys.executable, "-m", "assist", "lint"], cwd=tmp_path, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rules     assist/shop/etiquette.yml:" in done.stdout and str(ROOT) not in done.stdout


def test_lint_and_bad_arguments():
    assert run(["lint"])[0] == 0
    code, _, err = run(["draft", "--facts", "{not json", "x"])
    assert code == 2 and "--facts" in err


def test_broken_policy_exits_2_naming_the_file(tmp_path):
    bad = tmp_path / "policy.yml"
    bad.write_text("shop: {}\n", encoding="utf-8")
    code, _, err = run(["draft", "--no-rasa", "--policy", str(bad), "你好"])
    assert code == 2 and f"{bad}:" in err


def test_python_dash_m_assist():
    result = subprocess.run([sys.executable, "-m", "assist", "check", "--json", "你好"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert json.loads(result.stdout)["findings"][0]["rule"] == "address.nin"

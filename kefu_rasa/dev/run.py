"""`make run`: start the whole product on loopback, print where it is, stop it all on Ctrl-C."""
from __future__ import annotations

import signal
import sys
import time

from assist.settings import SettingsError, get_settings
from assist.store import StoreError
from kefu_rasa.dev.model_cache import ensure_model
from kefu_rasa.dev.servers import HOST, start_stack


def main() -> int:
    try:
        settings = get_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    model = ensure_model()
    rasa_port, actions_port, console_port = settings.rasa_port, settings.actions_port, settings.console_port
    print(f"starting Rasa ({HOST}:{rasa_port}), the action server ({HOST}:{actions_port}) and the console ({HOST}:{console_port}), about 15 s…", flush=True)
    try:
        stack = start_stack(
            model, settings.data_dir / "run", data_dir=settings.data_dir, rasa_port=rasa_port, actions_port=actions_port,
            console_port=console_port, to_console=True,
        )
    except (RuntimeError, StoreError) as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    print(
        f"""
kefu-assist is running (Ctrl-C stops everything)
  Rasa server     {stack.rasa_url}   (HTTP API token in {settings.data_dir / 'rasa_token'} or $RASA_TOKEN)
  action server   {stack.actions_url}/health
  agent console   {stack.console_url}/login   (create an agent: .venv/bin/python -m console create-agent 小王 --password)
  customer chat   {stack.console_url}/chat
Try it:
  curl -s {stack.rasa_url}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
       -d '{{"sender": "demo-1", "message": "你好，我的订单1234567890到哪了"}}'
""",
        flush=True,
    )
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping the rest", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("stopping…", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

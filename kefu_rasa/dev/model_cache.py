"""Train the Rasa model only when what it is made of changed.

A model is named after a hash of its inputs (config, domain, training data, jieba
dictionary and the normaliser code), so `make train`, `make run` and the test session
share one model and retrain only after an edit. Run: python -m kefu_rasa.dev.model_cache [--path]
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, Optional

ROOT = Path(__file__).resolve().parents[2]
# Everything that changes what `rasa train` produces.
MODEL_INPUTS = ("config.yml", "domain.yml", "data", "kefu_rasa/components.py", "kefu_rasa/sparse_intents.py",
                "assist/text/normalize.py")


def _files(root: Path, inputs: Iterable[str]) -> list:
    found = []
    for name in inputs:
        path = root / name
        if path.is_dir():
            # Docs beside the data (data/README.md) do not change the model.
            found += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".md"]
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"model input {path} is missing")
    return sorted(found)


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for path in _files(root, MODEL_INPUTS):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def model_path(root: Path = ROOT) -> Path:
    return root / "models" / f"kefu-{fingerprint(root)}.tar.gz"


def training_record(model: Path) -> Path:
    """Side file with how long the model took to train (read by bench/nlu.py)."""
    return model.with_name(model.name[: -len(".tar.gz")] + ".train.json")


def ensure_model(root: Path = ROOT, log=print) -> Path:
    """Return the model for the current inputs, training it first if it does not exist."""
    target = model_path(root)
    if target.exists():
        log(f"model: up to date ({target.relative_to(root)})")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One trainer at a time: `make run` and a test session may ask together.
    with open(target.parent / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        log(f"model: data or config changed, training {target.name} (a few minutes; Rasa prints progress)")
        started = time.monotonic()
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
        cmd = [
            sys.executable, "-m", "rasa", "train",
            "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
            "--out", str(target.parent), "--fixed-model-name", target.name[: -len(".tar.gz")],
        ]
        result = subprocess.run(cmd, cwd=root, env=env)
        if result.returncode != 0 or not target.exists():
            raise RuntimeError(f"rasa train failed (exit {result.returncode}); see the output above")
        seconds = time.monotonic() - started
        training_record(target).write_text(json.dumps({"seconds": round(seconds, 1), "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        log(f"model: trained in {seconds:.0f} s → {target.relative_to(root)}")
    return target


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", action="store_true", help="print the model path for the current inputs and exit")
    args = parser.parse_args(argv)
    if args.path:
        print(model_path())
        return 0
    ensure_model()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Creates .venv with a Python 3.10 and installs the pinned requirements.
# Idempotent: a stamp holding the hash of the requirement files skips the install
# when nothing changed, so a second run takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
STAMP="$VENV/.kefu-installed"

find_python() {
    if [ -n "${PYTHON:-}" ]; then
        echo "$PYTHON"; return 0
    fi
    local candidates=(python3.10)
    if command -v pyenv >/dev/null 2>&1; then
        local root; root=$(pyenv root)
        for dir in "$root"/versions/3.10*; do
            [ -x "$dir/bin/python" ] && candidates+=("$dir/bin/python")
        done
    fi
    for dir in "$HOME"/.pyenv/versions/3.10*; do
        [ -x "$dir/bin/python" ] && candidates+=("$dir/bin/python")
    done
    for py in "${candidates[@]}"; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    return 1
}

want=$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "setup: $VENV is up to date"
    exit 0
fi

if ! PY=$(find_python); then
    cat >&2 <<'MSG'
setup: no Python 3.10 found. Rasa 3.6.21 needs Python 3.8–3.10 (3.11 does not work).
  Install one, e.g.   pyenv install 3.10.13
  or point to one:    make setup PYTHON=/path/to/python3.10
MSG
    exit 2
fi
if ! "$PY" -c 'import sys; sys.exit(not ((3, 8) <= sys.version_info[:2] <= (3, 10)))' 2>/dev/null; then
    echo "setup: $PY is not Python 3.8–3.10 (Rasa 3.6.21 needs one of those)" >&2
    exit 2
fi

echo "setup: creating $VENV with $("$PY" --version 2>&1) ($PY)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade "pip==24.2"
echo "setup: installing pinned requirements (about 80 s on a fresh machine)"
"$VENV/bin/python" -m pip install --quiet --progress-bar off -r requirements.txt
"$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .
"$VENV/bin/python" -m pip check
echo "$want" > "$STAMP"
echo "setup: done"

#!/usr/bin/env bash
# Installs the servers the production-configuration tests start for themselves:
# PostgreSQL and Redis from Debian's packages. Idempotent; needs root (or does nothing and
# says why — those tests then skip with a clear message).
set -uo pipefail
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
if have_pg && have_redis; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "services: PostgreSQL/Redis missing and no root apt-get here; their tests will skip" >&2
    exit 0
fi
echo "services: installing postgresql and redis-server (Debian packages)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq postgresql redis-server >/dev/null \
    || echo "services: apt-get failed; the PostgreSQL/Redis tests will skip" >&2
# Debian starts the packaged services; the tests use their own instances on free ports.
exit 0

#!/usr/bin/env bash
# Installs the servers the production-configuration tests start for themselves:
# PostgreSQL, Redis and nginx from Debian's packages. Idempotent; needs root (or does nothing and
# says why — those tests then skip with a clear message).
set -uo pipefail
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }
missing=()
have_pg || missing+=(postgresql)
have_redis || missing+=(redis-server)
have_nginx || missing+=(nginx)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "services: ${missing[*]} missing and no root apt-get here; their tests will skip" >&2
    exit 0
fi
echo "services: installing ${missing[*]} (Debian packages)…"
export DEBIAN_FRONTEND=noninteractive
# Another apt run (a second worktree's setup) holds the lock for a while: wait for it, not fail.
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
apt_get update -qq >/dev/null && apt_get install -y -qq "${missing[@]}" >/dev/null \
    || echo "services: apt-get failed; the tests needing ${missing[*]} will skip" >&2
# Debian starts the packaged services; the tests use their own instances on free ports.
exit 0

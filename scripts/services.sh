#!/usr/bin/env bash
# Start (or stop) the scale-profile servers on loopback for tests and local use:
# Redis (Feast online store) and PostgreSQL (Feast SQL registry), installed from Debian
# packages when missing, and a Ray head (from the project's venv). Idempotent: a running
# server is left as it is.
#
#   scripts/services.sh start   # prints the connection settings as KEY=VALUE lines
#   scripts/services.sh ray     # a local Ray head (2 CPUs); prints its address
#   scripts/services.sh browser # installs Debian's chromium (page tests); prints its path
#   scripts/services.sh stop
#
# Ports and paths can be changed with STOREFRONT_REDIS_PORT, STOREFRONT_PG_PORT,
# STOREFRONT_RAY_PORT, STOREFRONT_RAY_BIN and STOREFRONT_SERVICES_DIR.
set -euo pipefail

REDIS_PORT="${STOREFRONT_REDIS_PORT:-6390}"
PG_PORT="${STOREFRONT_PG_PORT:-5439}"
ROOT="${STOREFRONT_SERVICES_DIR:-/tmp/storefront-services}"
PG_DATA="$ROOT/pg"
RAY_PORT="${STOREFRONT_RAY_PORT:-6392}"
RAY_BIN="${STOREFRONT_RAY_BIN:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/ray}"

log() { echo "services: $*" >&2; }

need_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} from Debian packages"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

start_redis() {
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then return; fi
  mkdir -p "$ROOT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" \
    --appendonly no --logfile "$ROOT/redis.log" >&2
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  log "redis did not start on port $REDIS_PORT:"; tail -n 20 "$ROOT/redis.log" >&2; exit 1
}

start_postgres() {
  local bin; bin="$(pg_bin)"
  if "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1; then return; fi
  mkdir -p "$ROOT"; chown postgres:postgres "$ROOT" 2>/dev/null || true
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    install -d -o postgres -g postgres -m 700 "$PG_DATA"
    su postgres -c "$bin/initdb -D $PG_DATA -U postgres --auth=trust -E UTF8" >/dev/null
  fi
  su postgres -c "$bin/pg_ctl -D $PG_DATA -l $ROOT/postgres.log -w start \
    -o '-p $PG_PORT -k $ROOT -c listen_addresses=127.0.0.1'" >/dev/null \
    || { log "postgres did not start:"; tail -n 20 "$ROOT/postgres.log" >&2; exit 1; }
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
    "SELECT 1 FROM pg_roles WHERE rolname='storefront'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc \
      "CREATE USER storefront WITH PASSWORD 'storefront' CREATEDB;" >/dev/null
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='feast'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc \
      "CREATE DATABASE feast OWNER storefront;" >/dev/null
}

start_ray() {
  if "$RAY_BIN" status --address "127.0.0.1:$RAY_PORT" >/dev/null 2>&1; then return; fi
  mkdir -p "$ROOT/ray"
  RAY_USAGE_STATS_ENABLED=0 "$RAY_BIN" start --head --port "$RAY_PORT" \
    --node-ip-address 127.0.0.1 --num-cpus 2 --include-dashboard=false \
    --disable-usage-stats --temp-dir "$ROOT/ray" >"$ROOT/ray-start.log" 2>&1 \
    || { log "ray did not start:"; tail -n 20 "$ROOT/ray-start.log" >&2; exit 1; }
}

need_browser() {
  if ! command -v chromium >/dev/null; then
    log "installing chromium from Debian packages (for the page tests)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  fi
}

case "${1:-start}" in
  start)
    need_packages
    start_redis
    start_postgres
    echo "STOREFRONT_TEST_REDIS=127.0.0.1:$REDIS_PORT"
    echo "STOREFRONT_TEST_POSTGRES=postgresql+psycopg://storefront:storefront@127.0.0.1:$PG_PORT/feast"
    ;;
  ray)
    start_ray
    echo "STOREFRONT_TEST_RAY=127.0.0.1:$RAY_PORT"
    ;;
  browser)
    need_browser
    echo "STOREFRONT_TEST_CHROMIUM=$(command -v chromium)"
    ;;
  stop)
    "$RAY_BIN" stop --force >/dev/null 2>&1 || true
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    if [ -f "$PG_DATA/PG_VERSION" ]; then
      su postgres -c "$(pg_bin)/pg_ctl -D $PG_DATA -m fast stop" >/dev/null 2>&1 || true
    fi
    ;;
  *) echo "usage: $0 start|ray|browser|stop" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Load benchmarks of mfa-server: TOTP verify and app-password verify (cached and
# uncached) at concurrency 1, 8 and 64, on SQLite and PostgreSQL, with the
# bounded Rust load generator `mfa-loadgen` running on the same machine.
#
#   host-examples/server/bench/run.sh [sqlite|postgres|all] [SECONDS]
#
# MFA_BENCH_RATE (default 16000) is the most requests per second expected:
# the TOTP runs create that many users per second of run time.
# MFA_SERVER_BIN runs that server binary (with the mfa-loadgen beside it)
# instead of building this tree: how a before and an after are run side by side.
#
# Prints one JSON line per run. Every TOTP request is a real success for a
# different user and writes that user's replay step before it is answered.
set -euo pipefail
cd "$(dirname "$0")/../../.."
WHICH=${1:-all}
SECS=${2:-4}
ADMIN=bench-admin-token-0123456789
export MFA_PROXY_SECRET=bench-proxy-secret-0123456789abcdef
TARGET=${CARGO_TARGET_DIR:-target}
if [ -n "${MFA_SERVER_BIN:-}" ]; then
  SERVER=$MFA_SERVER_BIN
else
  cargo build --release -p mfa-server --bins >&2
  SERVER=$TARGET/release/mfa-server
fi
LOADGEN=$(dirname "$SERVER")/mfa-loadgen
WORK=$(mktemp -d /tmp/mfa-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  if [ -n "${PGDATA_DIR:-}" ]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

start_server() { # name url policy-extra gateway-extra
  local name=$1 url=$2 policy=$3 gateway=$4
  mkdir -p "$WORK/$name"
  cat > "$WORK/$name/c.toml" <<EOF
listen = "127.0.0.1:0"
[storage]
url = "$url"
max_connections = 16
[keys]
file = "$WORK/$name/keys.json"
generate = true
[auth]
mode = "trusted_header"
proxy_secret = "$MFA_PROXY_SECRET"
[admin]
token = "$ADMIN"
[gateway]
$gateway
[log]
filter = "warn"
[policy]
allowed_methods = ["authenticator_app"]
max_app_passwords = 1000
$policy
EOF
  "$SERVER" --config "$WORK/$name/c.toml" > "$WORK/$name/out" 2> "$WORK/$name/err" &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    URL=$(grep -o 'http://[0-9.:]*' "$WORK/$name/out" 2>/dev/null | head -1 || true)
    [ -n "$URL" ] && break
    sleep 0.1
  done
  [ -n "$URL" ] || { cat "$WORK/$name/err" >&2; exit 1; }
}

stop_server() { kill "${PIDS[-1]}" 2>/dev/null || true; wait "${PIDS[-1]}" 2>/dev/null || true; }

run_totp() { # backend url
  local backend=$1 url=$2
  start_server "totp-$backend" "$url" 'argon2 = { m_kib = 64, t = 1, p = 1 }' 'cache_secs = 60'
  # One user per request: enough users for the fastest expected rate over the run.
  local n=$(( ${MFA_BENCH_RATE:-16000} * SECS ))
  "$LOADGEN" setup --url "$URL" --admin-token "$ADMIN" --users "$n" --prefix "t$backend" --out "$WORK/users-$backend.tsv" --concurrency 16 >&2
  local start=0
  for c in 1 8 64; do
    # Each concurrency uses its own slice of users, all of whom have a fresh code.
    tail -n +$((start + 1)) "$WORK/users-$backend.tsv" > "$WORK/slice.tsv"
    out=$("$LOADGEN" totp --url "$URL" --users-file "$WORK/slice.tsv" --concurrency "$c" --seconds "$SECS" --offset 1)
    echo "{\"bench\":\"totp_verify\",\"storage\":\"$backend\",\"concurrency\":$c,\"result\":$out}"
    used=$(echo "$out" | sed 's/.*"requests":\([0-9]*\).*/\1/')
    start=$((start + used))
  done
  stop_server
}

run_app_passwords() { # backend url
  local backend=$1 url=$2
  for mode in cached uncached; do
    if [ "$mode" = cached ]; then gw='cache_secs = 60'; else gw='cache_secs = 0'; fi
    start_server "ap-$mode-$backend" "$url-$mode" '' "$gw"
    "$LOADGEN" setup --url "$URL" --admin-token "$ADMIN" --users 64 --prefix "a$mode" --out "$WORK/ap-$backend.tsv" --concurrency 4 --app-passwords >&2
    for c in 1 8 64; do
      out=$("$LOADGEN" app-password --url "$URL" --users-file "$WORK/ap-$backend.tsv" --concurrency "$c" --seconds "$SECS")
      echo "{\"bench\":\"app_password_verify_$mode\",\"storage\":\"$backend\",\"concurrency\":$c,\"result\":$out}"
    done
    stop_server
  done
}

if [ "$WHICH" = sqlite ] || [ "$WHICH" = all ]; then
  run_totp sqlite "sqlite://$WORK/totp.db"
  run_app_passwords sqlite "sqlite://$WORK/ap.db"
fi

if [ "$WHICH" = postgres ] || [ "$WHICH" = all ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGDATA_DIR=$WORK/pg
  PORT=$(( 20000 + RANDOM % 20000 ))
  mkdir -p "$PGDATA_DIR" && chown postgres:postgres "$WORK" "$PGDATA_DIR"
  chmod 755 "$WORK"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR/data" -o "-p $PORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" -l "$PGDATA_DIR/log" -w start >/dev/null
  PGDATA_DIR=$PGDATA_DIR/data
  for db in totp ap-cached ap-uncached; do
    "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE \"$db\"" >/dev/null
  done
  run_totp postgres "postgres://postgres@127.0.0.1:$PORT/totp"
  run_app_passwords postgres "postgres://postgres@127.0.0.1:$PORT/ap"
fi

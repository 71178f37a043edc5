#!/usr/bin/env bash
# `make bench`: the benchmark harness. Builds release, seeds a fresh PostgreSQL database (3 tenants,
# 100,000 customers, 1,000,000 ledger entries), starts `loyalty serve`, loads each scenario with
# wrk at 16 and 64 connections after a warm-up, calibrates against pgbench running the same
# statements on a copy of the data, then does the same scenarios on SQLite at 16 connections.
# Prints one table per backend; exits non-zero when a scenario had errors or an invariant broke.
#
# BENCH_SECONDS (default 15) is each measured run; BENCH_WARMUP (default 3) each warm-up;
# BENCH_BACKENDS (default "postgres sqlite") which backends to measure; BENCH_SCENARIOS (default
# all) which scenarios, for a quick look at one path while changing it.
# BENCH_SKIP_IMPORT (set to anything) leaves out the 100,000-row customer import.
# BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the server to use:
# the harness creates its own databases there and drops them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-15}
WARMUP=${BENCH_WARMUP:-3}
ADMIN_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${BENCH_PORT:-18080}
BACKENDS=${BENCH_BACKENDS:-postgres sqlite}
read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-health_live tenant_meta tenant_meta_304 customer_get search report_summary report_daily report_top report_summary_month report_daily_month report_top_month visit purchase purchase_hot redeem_fulfil mixed}"
BIN=target/release/loyalty
WORK=$(mktemp -d)
DB="loyalty_bench_$$"
SERVER_PID=""
FAILED=0

log() { printf '==> %s\n' "$*" >&2; }

cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" -c "DROP DATABASE IF EXISTS ${DB}_pgbench" \
    >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
for tool in psql pgbench; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required (the PostgreSQL client)" >&2; exit 1; }
done

log "building release"
cargo build --release --quiet --bin loyalty

# The seed with each backend's way to write a number as 12 hex digits and as 8 decimal ones, and
# to go back a number of days from now.
seed_sql() {
  case "$1" in
    postgres) hex() { printf "lpad(to_hex(%s), 12, '0')" "$1"; }; dec8="lpad(n::text, 8, '0')"
      days_ago="CURRENT_TIMESTAMP - (n % 365) * INTERVAL '1 day'" ;;
    sqlite) hex() { printf "printf('%%012x', %s)" "$1"; }; dec8="printf('%08d', n)"
      days_ago="datetime('now', '-' || (n % 365) || ' days')" ;;
  esac
  sed -e "s/DEC8/$dec8/g" -e "s/DAYS_AGO/$days_ago/g" -e "s/FIRST_ENTRY_HEX12/$(hex '(n - 1) * 10 + 1')/g" \
      -e "s/CUSTOMER_HEX12/$(hex '(n - 1) \/ 10 + 1')/g" \
      -e "s/ENTRY_HEX12/$(hex n)/g" \
      -e "s/HEX12/$(hex n)/g" bench/seed.sql
}

# Prepares DATABASE_URL: migrated, three tenants, the bulk seed.
prepare() {
  local backend=$1
  "$BIN" migrate run >/dev/null
  for t in 1 2 3; do
    "$BIN" tenant create --id "bench-$t" --name "Bench $t" --country DE --currency EUR \
      --primary-domain "bench-$t.example" >/dev/null
  done
  case "$backend" in
    # Vacuumed, analysed and checkpointed, as a database in steady use would be: otherwise
    # autovacuum and the checkpoint of a million fresh rows run during the first scenarios.
    postgres) seed_sql postgres | psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" \
      && psql -q "$DATABASE_URL" -c "VACUUM (ANALYZE)" -c "CHECKPOINT" ;;
    # Folded back into the file and analysed, as a database in steady use would be: a write-ahead
    # log left holding a million seeded rows would make every later commit try to checkpoint it.
    sqlite) { seed_sql sqlite; echo "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;"; } | sqlite3 "${DATABASE_URL#sqlite://}" >/dev/null ;;
  esac
  index_customers "$backend"
}

sql() { # BACKEND QUERY
  case "$1" in
    postgres) psql -tA "$DATABASE_URL" -c "$2" ;;
    sqlite) sqlite3 "${DATABASE_URL#sqlite://}" "$2" ;;
  esac
}

# The seed writes customers as a release before search would have, with no search terms: the
# expiry sweep indexes them, as it would after an upgrade. Sets INDEXED_SECS to how long it took.
index_customers() {
  local started unindexed
  started=$(date +%s)
  EXPIRY_SWEEP_INTERVAL_SECS=1 start_server
  until unindexed=$(sql "$1" "SELECT COUNT(*) FROM customers WHERE NOT search_indexed") \
      && [ "$unindexed" = 0 ]; do
    sleep 1
  done
  INDEXED_SECS=$(( $(date +%s) - started ))
  stop_server
  case "$1" in
    postgres) sql postgres "VACUUM (ANALYZE) customer_search_terms" >/dev/null ;;
    sqlite) sql sqlite "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;" >/dev/null ;;
  esac
}

# Starts the server and sets READY_MS to how long it took to answer /health/ready with 200.
start_server() {
  local started
  started=$(date +%s%N)
  # The load comes from one address with one key: the rate limits would measure themselves.
  RUST_LOG=warn LOG_FORMAT=json PORT=$PORT RATE_LIMIT_TENANT_DOCUMENTS_PER_MINUTE=0 \
    RATE_LIMIT_CARDS_PER_MINUTE=0 RATE_LIMIT_API_PER_MINUTE=0 \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 400); do
    if curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then
      READY_MS=$(( ($(date +%s%N) - started) / 1000000 ))
      return
    fi
    sleep 0.01
  done
  echo "bench: the server did not become ready" >&2
  cat "$WORK/server.log" >&2
  exit 1
}

stop_server() {
  kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

api() { # METHOD PATH KEY [BODY]
  curl -sf -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $3" \
    -H 'Content-Type: application/json' ${4:+-d "$4"}
}

# Keys, a program with no visit interval, a reward; exports what the load scripts read.
configure_tenant() {
  local admin
  admin=$("$BIN" api-key create --tenant bench-1 --role tenant_admin 2>/dev/null)
  BENCH_ADMIN_KEY=$admin
  BENCH_YEAR_FROM=$(date -u -d '365 days ago' +%F)
  BENCH_MONTH_FROM=$(date -u -d '29 days ago' +%F)
  BENCH_YEAR_TO=$(date -u +%F)
  BENCH_KEY=$("$BIN" api-key create --tenant bench-1 --role staff 2>/dev/null)
  api PUT /api/v1/program "$admin" '{"visits_per_reward":10,"points_per_visit":10,"spend_rule":{"points":1,"per_amount_minor":100},"min_purchase_minor":0,"min_minutes_between_visits":0}' >/dev/null
  BENCH_REWARD=$(api POST /api/v1/rewards "$admin" '{"name":"Bench coffee","cost_points":10,"valid_days":30}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
  BENCH_ETAG=$(curl -sf -D - -o /dev/null -H 'Host: bench-1.example' "http://127.0.0.1:$PORT/api/public/tenant-meta" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}')
  export BENCH_KEY BENCH_REWARD BENCH_ETAG BENCH_ADMIN_KEY BENCH_YEAR_FROM BENCH_YEAR_TO BENCH_MONTH_FROM
}

rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status"; }

# Runs one scenario; prints "req/s p50 p99 errors rss".
load() {
  local scenario=$1 connections=$2 script=bench/scenarios.lua threads=2
  [ "$scenario" = redeem_fulfil ] && script=bench/redeem_fulfil.lua
  # wrk needs a connection per thread.
  [ "$connections" -lt 2 ] && threads=1
  wrk -t"$threads" -c"$connections" -d"${WARMUP}s" -s "$script" "http://127.0.0.1:$PORT" -- "$scenario" >/dev/null 2>&1 || true
  local result
  result=$(wrk -t"$threads" -c"$connections" -d"${SECONDS_PER_RUN}s" --timeout 10s -s "$script" \
    "http://127.0.0.1:$PORT" -- "$scenario" | awk '/^RESULT/ {print $3, $4, $5, $6}')
  echo "$result $(rss_mb)"
}

row() { printf '| %-16s | %5s | %9s | %9s | %9s | %7s | %7s |\n' "$@"; }
header() {
  row scenario conns "req/s" "p50 ms" "p99 ms" errors "RSS MB"
  row ---------------- ----- --------- --------- --------- ------- -------
}

# The invariants, on whatever the run left: balances equal their ledgers and their lots.
check_invariants() {
  local query="SELECT COUNT(*) FROM customers c WHERE c.balance <> (SELECT COALESCE(SUM(e.points), 0) FROM ledger_entries e WHERE e.tenant_id = c.tenant_id AND e.customer_id = c.id) OR c.balance <> (SELECT COALESCE(SUM(l.remaining), 0) FROM point_lots l WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id)"
  local broken
  broken=$(sql "$1" "$query")
  if [ "$broken" != 0 ]; then
    echo "bench: $broken accounts whose balance differs from their ledger or lots" >&2
    FAILED=1
  else
    log "$1: every balance equals its ledger and its lots"
  fi
}

peak_rss_mb() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status"; }

# The customer import through the API: 100,000 rows with opening balances into a new tenant.
# Prints how long it took and the server's peak memory before and after (flat: the body goes to
# a temporary file, the rows are read a batch at a time).
import_benchmark() {
  local file=$WORK/import.csv admin started ms before result
  awk 'BEGIN {
    print "name,phone,email,external_id,opening_points,opening_visits"
    for (n = 1; n <= 100000; n++)
      printf "Imported Customer %d,+49151%08d,i%d@import.example,IMP-%d,%d,%d\n", n, n, n, n, n % 500, n % 9
  }' >"$file"
  "$BIN" tenant create --id bench-import --name "Bench import" --country DE --currency EUR >/dev/null
  admin=$("$BIN" api-key create --tenant bench-import --role tenant_admin 2>/dev/null)
  before=$(peak_rss_mb)
  started=$(date +%s%N)
  result=$(curl -s -X POST "http://127.0.0.1:$PORT/api/v1/imports/customers" \
    -H "Authorization: Bearer $admin" -H "Idempotency-Key: bench-import" \
    -H 'Content-Type: text/csv' --data-binary @"$file")
  ms=$(( ($(date +%s%N) - started) / 1000000 ))
  echo "import of 100,000 customers ($(( $(stat -c %s "$file") / 1024 )) KB of CSV): ${ms} ms, answered $result; peak RSS ${before} MB before, $(peak_rss_mb) MB after"
  [[ $result == '{"created":100000,"skipped":0}' ]] || FAILED=1
}

pgbench_tps() { # SCRIPT CLIENTS
  pgbench -n -M prepared -f "$1" -c "$2" -j 2 -T "$SECONDS_PER_RUN" "postgres://postgres@127.0.0.1:5432/${DB}_pgbench" 2>/dev/null \
    | awk '/^tps/ {printf "%.0f", $3}'
}

# pgbench's figure for what the database alone does, taken right after the scenario it
# calibrates: the disk's flush rate drifts over minutes, and a ratio of figures taken far apart
# would measure the drift.
declare -A PGBENCH
calibrate_after() { # SCENARIO CONNECTIONS
  case "$1" in
    purchase) PGBENCH[purchase-$2]=$(pgbench_tps bench/pgbench-purchase.sql "$2") ;;
    customer_get) [ "$2" = 16 ] && PGBENCH[select-16]=$(pgbench_tps bench/pgbench-select.sql 16) ;;
  esac
  return 0
}

declare -A RPS P99
measure() { # BACKEND CONNECTIONS...
  local backend=$1; shift
  for scenario in "${SCENARIOS[@]}"; do
    local levels=("$@")
    # A report is an owner's occasional request: its figure is how long one takes alone. A
    # search is typed at a counter: a few at once is its usual load.
    [[ $scenario == report_* ]] && levels=(1)
    [[ $scenario == search ]] && levels=(4 "$@")
    for connections in "${levels[@]}"; do
      read -r rps p50 p99 errors rss <<<"$(load "$scenario" "$connections")"
      RPS[$backend-$scenario-$connections]=$rps
      P99[$backend-$scenario-$connections]=$p99
      row "$scenario" "$connections" "$rps" "$p50" "$p99" "$errors" "$rss"
      [ "${errors:-1}" = 0 ] || FAILED=1
      if [ "$backend" = postgres ]; then calibrate_after "$scenario" "$connections"; fi
    done
  done
}

# A as a percentage of B; n/a when either was not measured.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }

bench_postgres() {
log "PostgreSQL: seeding $DB"
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
prepare postgres
psql -q "$ADMIN_URL" -c "CREATE DATABASE ${DB}_pgbench TEMPLATE $DB" >/dev/null
start_server
configure_tenant
echo
echo "PostgreSQL ($(nproc) cores, ${SECONDS_PER_RUN}s per run; ready ${READY_MS} ms after start; 100,000 customers indexed for search by the sweep in ${INDEXED_SECS} s)"
echo
header
measure postgres 16 64
echo
[ -n "${BENCH_SKIP_IMPORT:-}" ] || import_benchmark
stop_server
check_invariants postgres

echo
row "pgbench" conns "tps" "" "" "" ""
row ---------------- ----- --------- --------- --------- ------- -------
# Taken after the scenarios they calibrate; measured here when those were not run.
PG_PURCHASE_16=${PGBENCH[purchase-16]:-$(pgbench_tps bench/pgbench-purchase.sql 16)}
PG_PURCHASE_64=${PGBENCH[purchase-64]:-$(pgbench_tps bench/pgbench-purchase.sql 64)}
PG_SELECT_16=${PGBENCH[select-16]:-$(pgbench_tps bench/pgbench-select.sql 16)}
row purchase-shaped 16 "$PG_PURCHASE_16" "" "" "" ""
row purchase-shaped 64 "$PG_PURCHASE_64" "" "" "" ""
row select-by-pk 16 "$PG_SELECT_16" "" "" "" ""
echo
echo "purchase / pgbench purchase-shaped (16): $(ratio "${RPS[postgres-purchase-16]:-}" "$PG_PURCHASE_16")"
echo "visit / pgbench purchase-shaped (16): $(ratio "${RPS[postgres-visit-16]:-}" "$PG_PURCHASE_16")"
echo "customer_get / pgbench select-by-pk (16): $(ratio "${RPS[postgres-customer_get-16]:-}" "$PG_SELECT_16")"
echo "tenant_meta / health_live (16): $(ratio "${RPS[postgres-tenant_meta-16]:-}" "${RPS[postgres-health_live-16]:-}")"
}

bench_sqlite() {
log "SQLite: seeding"
export DATABASE_URL="sqlite://$WORK/bench.db"
prepare sqlite
start_server
configure_tenant
echo
echo "SQLite (ready ${READY_MS} ms after start; 100,000 customers indexed for search by the sweep in ${INDEXED_SECS} s)"
echo
header
measure sqlite 16
echo
[ -n "${BENCH_SKIP_IMPORT:-}" ] || import_benchmark
stop_server
check_invariants sqlite
}

for backend in $BACKENDS; do
  case "$backend" in
    postgres) bench_postgres ;;
    sqlite) bench_sqlite ;;
    *) echo "bench: unknown backend $backend in BENCH_BACKENDS" >&2; exit 2 ;;
  esac
done
exit "$FAILED"

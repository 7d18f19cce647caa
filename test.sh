#!/usr/bin/env bash
# Runs every test suite of the repository against a throwaway PostgreSQL and
# Redis, then prints one summary line:  Tests: N passed, N failed, N skipped
#
#   ./test.sh                                   # everything
#   ./test.sh --filter FullyQualifiedName~Foo   # extra args go to `dotnet test`
#
# Environment for the tests (the C# and JavaScript suites read these):
#   ConnectionStrings__Postgres   Npgsql connection string of the throwaway server (an admin one:
#                                 each test class creates and drops a database of its own)
#   ConnectionStrings__Redis      StackExchange.Redis "host:port" of the throwaway Redis
#   REALTIME_TEST_REDIS_SERVER    path of redis-server, for tests that run Redis instances of
#                                 their own (to stop and restart them)
# Optional: TEST_RESULTS_DIR=dir keeps a copy of the .trx files.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
root=$PWD

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# No MSBuild worker nodes lingering after the run (they can keep CI steps open).
export MSBUILDDISABLENODEREUSE="${MSBUILDDISABLENODEREUSE:-1}"

passed=0 failed=0 skipped=0
summary_printed=0
tmp="" pgdir="" redis_port=""

log() { printf '==> %s\n' "$*" >&2; }

summary() {
  summary_printed=1
  echo "Tests: $passed passed, $failed failed, $skipped skipped"
}

# ---------------------------------------------------------------- cleanup ---
# Silent (the summary must stay the last line) and idempotent.
redis_cmd() ( # redis_cmd PORT COMMAND... -> prints the first reply line
  port=$1 reply=""
  shift
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
  printf '%s\r\n' "$*" >&3
  IFS= read -r -t 2 reply <&3 || true
  printf '%s\n' "${reply%$'\r'}"
) 2>/dev/null

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  {
    if [[ -n $pgdir && -f $pgdir/postmaster.pid ]]; then
      as_postgres pg_ctl -D "$pgdir" -m immediate stop ||
        kill -9 "$(head -n1 "$pgdir/postmaster.pid")" || true
    fi
    if [[ -n $tmp && -f $tmp/redis.pid ]]; then
      kill "$(cat "$tmp/redis.pid")" || true
    fi
    # Whatever still answers on our port (a kill that raced the daemon's
    # start) is shut down too.
    if [[ -n $redis_port ]]; then
      sleep 0.2
      redis_cmd "$redis_port" SHUTDOWN NOSAVE || true
    fi
    [[ -n $pgdir ]] && rm -rf "$pgdir"
    [[ -n $tmp ]] && rm -rf "$tmp"
  } >/dev/null 2>&1
  if ((summary_printed == 0)); then # aborted early (setup error, Ctrl-C, ...)
    ((rc != 0 && failed == 0)) && failed=1
    summary
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "test.sh: $*" >&2; exit 1; }

# ------------------------------------------------------------ requirements ---
apt_install() { # apt_install PKG... (quiet)
  local sudo=""
  ((EUID == 0)) || sudo="sudo"
  log "installing $*"
  # Keep Debian from starting the packages' system services (a redis on 6379, an nginx on :80):
  # the tests start their own instances.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && added_policy=1
  fi
  $sudo apt-get update -qq >/dev/null
  local rc=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null || rc=$?
  ((added_policy)) && $sudo rm -f "$policy"
  return "$rc"
}

command -v dotnet >/dev/null || die "dotnet SDK not found (see global.json for the version)"
for bin in initdb pg_ctl; do
  command -v "$bin" >/dev/null || die "PostgreSQL binary $bin not found on PATH"
done
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx) # the load-balancer tests run Debian's nginx
((${#missing[@]} == 0)) || apt_install "${missing[@]}"

if { [[ -f client-js/package.json ]] || [[ -f tests/e2e-js/package.json ]]; } && ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
# The SDK's browser test drives Debian's chromium (playwright-core cannot download a browser here).
if [[ -f client-js/package.json ]] && [[ ! -x ${CHROMIUM_PATH:-/usr/bin/chromium} ]]; then
  apt_install chromium
fi

# PostgreSQL refuses to run as root: use the `postgres` user then.
as_postgres() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}
if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

# A TCP port nobody listens on, below the usual ephemeral range (32768+) so
# outgoing connections cannot grab it meanwhile. Starts are retried anyway.
free_port() {
  local port _
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found"
}

tmp=$(mktemp -d)

# -------------------------------------------------------------- PostgreSQL ---
# Data dir directly under /tmp so that the postgres user can traverse to it.
pgdir=$(mktemp -d /tmp/realtime-pg.XXXXXX)
((EUID == 0)) && chown postgres: "$pgdir"
chmod 700 "$pgdir"
log "initdb $pgdir"
as_postgres initdb -D "$pgdir" -A trust -U postgres -E UTF8 --no-locale --no-sync \
  >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; die "initdb failed"; }

pg_port=""
for attempt in 1 2 3; do
  port=$(free_port)
  if as_postgres pg_ctl -D "$pgdir" -l "$pgdir/log" -w -t 60 -o \
    "-k $pgdir -c listen_addresses=127.0.0.1 -p $port -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null; then
    pg_port=$port
    break
  fi
  log "PostgreSQL did not start on port $port (attempt $attempt)"
done
[[ -n $pg_port ]] || { cat "$pgdir/log" >&2 || true; die "PostgreSQL failed to start"; }
log "PostgreSQL listening on 127.0.0.1:$pg_port"

# ------------------------------------------------------------------- Redis ---
redis_server=$(command -v redis-server)
for attempt in 1 2 3; do
  port=$(free_port)
  rm -f "$tmp/redis.pid"
  "$redis_server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --dir "$tmp" --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log"
  for _ in $(seq 50); do # wait up to 5 s for PONG
    if [[ $(redis_cmd "$port" PING 2>/dev/null) == "+PONG" ]]; then
      redis_port=$port
      break 2
    fi
    sleep 0.1
  done
  log "Redis did not start on port $port (attempt $attempt)"
  if [[ -f $tmp/redis.pid ]]; then kill "$(cat "$tmp/redis.pid")" 2>/dev/null || true; fi
done
[[ -n $redis_port ]] || { cat "$tmp/redis.log" >&2 || true; die "Redis failed to start"; }
log "Redis listening on 127.0.0.1:$redis_port"

export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=50"
export ConnectionStrings__Redis="127.0.0.1:$redis_port"
export REALTIME_TEST_REDIS_SERVER="$redis_server"

# ------------------------------------------------------------- .NET tests ---
results="$tmp/results"
mkdir -p "$results"
log "dotnet test Realtime.sln -c Release $*"
dotnet_rc=0
dotnet test Realtime.sln -c Release --logger trx --results-directory "$results" "$@" ||
  dotnet_rc=$?

# Sum <Counters .../> over every TRX file (one per test project).
# failed = failed+error+timeout+aborted, skipped = notExecuted (or total-executed).
trx_attr() { # trx_attr COUNTERS_ELEMENT NAME -> number (0 when absent)
  local v
  v=$(grep -o " $2=\"[0-9]*\"" <<<"$1" | grep -o '[0-9]\+' || true)
  echo "${v:-0}"
}
trx_count=0
while IFS= read -r -d '' trx; do
  counters=$(tr '\n' ' ' <"$trx" | grep -o '<Counters [^>]*>' | head -n1 || true)
  [[ -n $counters ]] || continue
  trx_count=$((trx_count + 1))
  passed=$((passed + $(trx_attr "$counters" passed)))
  failed=$((failed + $(trx_attr "$counters" failed) + $(trx_attr "$counters" error) +
    $(trx_attr "$counters" timeout) + $(trx_attr "$counters" aborted)))
  # VSTest leaves notExecuted at 0 for skipped tests; total-executed has them.
  not_executed=$(trx_attr "$counters" notExecuted)
  not_run=$(($(trx_attr "$counters" total) - $(trx_attr "$counters" executed)))
  skipped=$((skipped + (not_run > not_executed ? not_run : not_executed)))
done < <(find "$results" -name '*.trx' -print0)

if ((dotnet_rc != 0)); then
  # Build errors, crashed test hosts, ... produce no (or no failing) TRX.
  log "dotnet test exited with $dotnet_rc ($trx_count TRX file(s))"
  ((failed == 0)) && failed=1
fi
if [[ -n ${TEST_RESULTS_DIR:-} ]]; then
  mkdir -p "$TEST_RESULTS_DIR"
  find "$results" -name '*.trx' -exec cp {} "$TEST_RESULTS_DIR"/ \;
fi

# ------------------------------------------------------- JavaScript client ---
# node --test output ends with summary lines, "# pass 12" (tap reporter) or
# "ℹ pass 12" (spec reporter). Adapt js_count if the runner changes.
js_count() { # js_count LOGFILE NAME -> number (0 when absent)
  local v
  v=$(sed -E 's/\x1b\[[0-9;]*m//g' "$1" |
    sed -n -E "s/^[[:space:]]*(#|ℹ)[[:space:]]+$2[[:space:]]+([0-9]+)[[:space:]]*$/\2/p" | tail -n1)
  echo "${v:-0}"
}
# Every JavaScript suite: the SDK's (client-js) and the end-to-end suite that drives the real
# server with the official third-party clients (tests/e2e-js; it runs the Release build above).
for suite in client-js tests/e2e-js; do
  [[ -f $suite/package.json ]] || continue
  log "$suite: npm ci && npm test"
  js_rc=0
  (cd "$suite" && npm ci --no-audit --no-fund && npm test) 2>&1 | tee "$tmp/js.log" ||
    js_rc=$?
  js_failed=$(($(js_count "$tmp/js.log" fail) + $(js_count "$tmp/js.log" cancelled)))
  passed=$((passed + $(js_count "$tmp/js.log" pass)))
  skipped=$((skipped + $(js_count "$tmp/js.log" skipped) + $(js_count "$tmp/js.log" todo)))
  if ((js_rc != 0 && js_failed == 0)); then
    log "$suite tests exited with $js_rc"
    js_failed=1
  fi
  failed=$((failed + js_failed))
done

cd "$root"
summary
((failed == 0))

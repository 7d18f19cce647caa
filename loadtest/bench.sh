#!/usr/bin/env bash
# Runs one load-test scenario against Realtime and the vanilla SignalR baseline, back to back, on
# this machine: publishes both as users deploy them (`dotnet publish -c Release`: ReadyToRun, see the
# server's csproj) into bin/Release/publish, builds the tool, starts a throwaway PostgreSQL (fsync on, as in production)
# and lets the tool start each server just before its run and stop it after.
#
#   loadtest/bench.sh latency -n 2000 -r 1000 -d 15
#   loadtest/bench.sh fanout -n 5000 -r 20 -d 15
#   loadtest/bench.sh storm -n 2000 -r 200   # the baseline too: it keeps nothing (resume=none), so the
#                                            # tool counts what it acknowledged and never delivered
#   BENCH_TWO_NODE=1 loadtest/bench.sh storm -n 2000 -r 200   # clients on node A (killed), sends to node B
#
# Every argument goes to the tool (see: dotnet loadtest/Realtime.LoadTest/bin/Release/net10.0/Realtime.LoadTest.dll --help).
# BENCH_KEEP_LIMITS=1: the servers keep their default rate limits (otherwise all 0).
# BENCH_TARGETS: both (default), realtime or baseline. Ports: BENCH_PORT (5377; the baseline +1).
# BENCH_TWO_NODE=1: each server runs as two nodes through a throwaway Redis (needs redis-server; the
# baseline through SignalR's Redis backplane): the tool's clients connect to the first, sends go to a
# second node on BENCH_PORT+2.
# BENCH_NODES=N (N >= 2): each server runs as N nodes through one throwaway Redis (Realtime also
# sharing one PostgreSQL; the baseline through SignalR's Redis backplane): the first on BENCH_PORT
# (Realtime) or BENCH_PORT+1 (baseline), the others on BENCH_PORT+2 .. BENCH_PORT+N for both; the
# tool's clients are spread over all of them (client i on node i mod N), sends go to the first.
# The tool starts a target's nodes just before its run and stops them all after (its --command
# with node=), so the two servers' nodes never run at the same time.
# Each Realtime node's connection pool is cut to 150/N so that N pools fit PostgreSQL's 200 connections.
#   BENCH_NODES=6 loadtest/bench.sh latency -n 100000 -r 100 -d 10 --per-process 17000
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1

log() { printf '==> %s\n' "$*" >&2; }
as_postgres() {
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pgdir="" redis_port=""
cleanup() {
  [[ -n $redis_port ]] && redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1
  if [[ -n $pgdir && -f $pgdir/postmaster.pid ]]; then
    as_postgres pg_ctl -D "$pgdir" -m immediate stop >/dev/null 2>&1 || true
  fi
  [[ -n $pgdir ]] && rm -rf "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "publishing the server and the baseline (Release, ReadyToRun), building the load test"
for project in src/Realtime.Server loadtest/Baselines/VanillaSignalR; do
  dotnet publish "$project" -c Release -o "$project/bin/Release/publish" -v quiet -nologo >/dev/null
done
dotnet build loadtest/Realtime.LoadTest -c Release -v quiet -nologo >/dev/null
server_dll=$root/src/Realtime.Server/bin/Release/publish/Realtime.Server.dll
baseline_dll=$root/loadtest/Baselines/VanillaSignalR/bin/Release/publish/VanillaSignalR.dll

port=${BENCH_PORT:-5377}
pg_port=$((port + 10000))
if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi
pgdir=$(mktemp -d /tmp/realtime-bench-pg.XXXXXX)
((EUID == 0)) && chown postgres: "$pgdir"
chmod 700 "$pgdir"
as_postgres initdb -D "$pgdir" -A trust -U postgres -E UTF8 --no-locale >/dev/null
as_postgres pg_ctl -D "$pgdir" -l "$pgdir/log" -w -t 60 \
  -o "-k $pgdir -c listen_addresses=127.0.0.1 -p $pg_port -c max_connections=200" start >/dev/null
log "PostgreSQL (fsync on) on 127.0.0.1:$pg_port"

export Auth__SigningKey=${Auth__SigningKey:-loadtest-signing-key-0123456789abcdef0123}
export Auth__Issuer=${Auth__Issuer:-realtime-dev} Auth__Audience=${Auth__Audience:-realtime}
nodes=${BENCH_NODES:-1}
export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Maximum Pool Size=$((nodes > 1 ? 150 / nodes : 50))"
# The rate limits off (the tool says so in its output); BENCH_KEEP_LIMITS=1 keeps the defaults (production's).
if [[ ${BENCH_KEEP_LIMITS:-0} != 1 ]]; then
  export RateLimits__SendsPerSecond=0 RateLimits__UserRequestsPerSecond=0 RateLimits__HubInvocationsPerSecond=0 RateLimits__AnonymousRequestsPerSecond=0
fi
export Serilog__MinimumLevel__Default=Warning ASPNETCORE_ENVIRONMENT=Production
# The push scenario's fake push service is on loopback over http.
export Push__AllowInsecureEndpoints=true

# More nodes: the same URLs for both targets (they run one after the other), started by the tool.
more=""
if [[ ${BENCH_TWO_NODE:-0} == 1 ]]; then
  ((nodes == 1)) || { echo "BENCH_TWO_NODE and BENCH_NODES: one or the other" >&2; exit 2; }
  more=",send=http://127.0.0.1:$((port + 2))"
  log "two nodes per server through Redis: clients on the first, sends to :$((port + 2))"
fi
if ((nodes > 1)); then
  for n in $(seq 2 "$nodes"); do
    more="$more,node=http://127.0.0.1:$((port + n))"
  done
  log "$nodes nodes per server through Redis, the others on :$((port + 2))..:$((port + nodes)); sends to the first"
fi
if [[ -n $more ]]; then
  redis_port=$((port + 20000))
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --logfile /tmp/realtime-bench-redis.log
  export ConnectionStrings__Redis="127.0.0.1:$redis_port"
  log "Redis on 127.0.0.1:$redis_port"
fi

realtime=(--target "realtime=http://127.0.0.1:$port$more"
  --command "realtime=dotnet $server_dll")
baseline=(--target "baseline=http://127.0.0.1:$((port + 1))$more,resume=none"
  --command "baseline=dotnet $baseline_dll")
case ${BENCH_TARGETS:-both} in
  both) targets=("${realtime[@]}" "${baseline[@]}") ;;
  realtime) targets=("${realtime[@]}") ;;
  baseline) targets=("${baseline[@]}") ;;
  *) echo "BENCH_TARGETS: both, realtime or baseline" >&2; exit 2 ;;
esac

dotnet loadtest/Realtime.LoadTest/bin/Release/net10.0/Realtime.LoadTest.dll "$@" "${targets[@]}"

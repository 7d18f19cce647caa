#!/usr/bin/env bash
# Runs the Realtime server locally on http://localhost:5000 for development.
#
#  - No ConnectionStrings__Postgres? A local PostgreSQL kept in .data/postgres
#    (port 55432 or REALTIME_DEV_PG_PORT) is created once, started, and stopped
#    again when this script exits.
#  - No Auth__SigningKey? One is generated once into .data/signing-key.
#  - No ConnectionStrings__Redis? Stays unset: single node, in-process bus.
#  - Prints ready-to-use tokens and curl commands, then runs the server.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
root=$PWD
data="$root/.data"
mkdir -p "$data"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log() { printf '==> %s\n' "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

# PostgreSQL refuses to run as root: use the `postgres` user then.
as_postgres() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# ------------------------------------------------------------- PostgreSQL ---
pgdir="$data/postgres"
pg_started=0
stop_postgres() {
  if ((pg_started)); then
    log "stopping PostgreSQL"
    as_postgres pg_ctl -D "$pgdir" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z ${ConnectionStrings__Postgres:-} ]]; then
  pg_port=${REALTIME_DEV_PG_PORT:-55432}
  for bin in initdb pg_ctl; do
    command -v "$bin" >/dev/null ||
      die "$bin not found: install PostgreSQL or set ConnectionStrings__Postgres"
  done
  if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    runuser -u postgres -- test -x "$data" ||
      die "user postgres cannot reach $data (a parent directory is not traversable); set ConnectionStrings__Postgres instead"
  fi

  if [[ ! -f $pgdir/PG_VERSION ]]; then # first run (or an interrupted initdb)
    log "initdb $pgdir"
    rm -rf "$pgdir"
    mkdir -p "$pgdir"
    ((EUID == 0)) && chown postgres: "$pgdir"
    chmod 700 "$pgdir"
    as_postgres initdb -D "$pgdir" -A trust -U postgres -E UTF8 --no-locale >"$data/initdb.log" 2>&1 ||
      { cat "$data/initdb.log" >&2; die "initdb failed"; }
  fi

  if as_postgres pg_ctl -D "$pgdir" status >/dev/null 2>&1; then
    log "PostgreSQL already running in $pgdir (left running afterwards)"
  else
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    # TCP only (no Unix socket: the path under .data could be too long).
    as_postgres pg_ctl -D "$pgdir" -l "$pgdir/server.log" -w -t 60 \
      -o "-k '' -c listen_addresses=127.0.0.1 -p $pg_port" start >/dev/null ||
      { tail -n 20 "$pgdir/server.log" >&2 || true; die "PostgreSQL failed to start (port $pg_port in use? set REALTIME_DEV_PG_PORT)"; }
    pg_started=1
  fi
  export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
fi

# ------------------------------------------------------------------- Auth ---
if [[ -z ${Auth__SigningKey:-} ]]; then
  if [[ ! -s $data/signing-key ]]; then
    log "generating $data/signing-key"
    (umask 077 && openssl rand -base64 48 >"$data/signing-key")
  fi
  chmod 600 "$data/signing-key"
  Auth__SigningKey=$(<"$data/signing-key")
  export Auth__SigningKey
fi
export Auth__Issuer="${Auth__Issuer:-realtime-dev}"
export Auth__Audience="${Auth__Audience:-realtime}"

# The demo inbox page at / and its dev-token endpoint (never turn this on in production).
export Realtime__DemoPage="${Realtime__DemoPage:-true}"

[[ -n ${ConnectionStrings__Redis:-} ]] ||
  log "ConnectionStrings__Redis not set: single node, in-process bus"

# ------------------------------------------------------------------ Build ---
# Published as deployed (self-contained composite ReadyToRun, see the server's csproj; the Dockerfile and
# loadtest/bench.sh do the same). The first publish, and the first after a change, compiles the framework too.
log "dotnet publish src/Realtime.Server -c Release (minutes the first time: it precompiles the framework too)"
dotnet publish src/Realtime.Server -c Release -o src/Realtime.Server/bin/Release/publish

# --------------------------------------------------------- Tokens and curl ---
export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://localhost:5000}"
base=${ASPNETCORE_URLS%%;*}                            # first URL
base=$(sed -E 's#://(\*|\+|0\.0\.0\.0|\[::\])#://localhost#' <<<"$base") # wildcard -> localhost

key_hint='Auth__SigningKey=...'   # the key from the environment
# shellcheck disable=SC2016 # printed for the user to paste, not expanded here
[[ $Auth__SigningKey == "$(cat "$data/signing-key" 2>/dev/null)" ]] &&
  key_hint='Auth__SigningKey=$(cat .data/signing-key)'
user_token=$(scripts/mint-token.sh alice)
service_token=$(scripts/mint-token.sh billing-service notifications:send)
admin_token=$(scripts/mint-token.sh admin notifications:broadcast admin)

cat <<EOF

Tokens (HS256, valid 24 h, iss=$Auth__Issuer, aud=$Auth__Audience):

  USER_TOKEN (sub=alice):
$user_token

  SERVICE_TOKEN (sub=billing-service, scope=notifications:send):
$service_token

  ADMIN_TOKEN (sub=admin, role=admin, scope=notifications:broadcast):
$admin_token

More tokens: $key_hint Auth__Issuer=$Auth__Issuer Auth__Audience=$Auth__Audience scripts/mint-token.sh SUB [SCOPE] [ROLE] [TTL_SECONDS]

Send alice a notification:

curl -i -X POST $base/api/notifications -H "Authorization: Bearer $service_token" -H 'Content-Type: application/json' -d '{"userId":"alice","title":"Hello","body":"Your first notification"}'

Read alice's inbox:

curl -i $base/api/notifications -H "Authorization: Bearer $user_token"

EOF
if [[ $Realtime__DemoPage == true ]]; then
  cat <<EOF
Demo inbox page (built on the JS SDK in client-js/): open $base/ and sign in as alice
(tick "admin" for the broadcast form, presence and stats); the curl above shows up there live.

EOF
fi

# ----------------------------------------------------------------- Server ---
# Not exec'd: the EXIT trap stops PostgreSQL once the server exits (Ctrl-C).
log "starting the server on $ASPNETCORE_URLS (Ctrl-C to stop)"
dotnet src/Realtime.Server/bin/Release/publish/Realtime.Server.dll

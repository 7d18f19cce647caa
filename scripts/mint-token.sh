#!/usr/bin/env bash
# Mints an HS256 JWT for local development and prints it on stdout.
#
#   scripts/mint-token.sh SUB [SCOPE] [ROLE] [TTL_SECONDS]
#   scripts/mint-token.sh billing-service notifications:send
#   scripts/mint-token.sh admin notifications:broadcast admin 3600
#
# Reads Auth__SigningKey (required), Auth__Issuer and Auth__Audience (claims
# omitted when unset) from the environment. The signing key is the HMAC key as
# UTF-8 text, exactly as given (it is not base64-decoded). An empty SCOPE or
# ROLE omits that claim; TTL_SECONDS defaults to 86400 (24 h).
set -euo pipefail

usage() { echo "usage: $0 SUB [SCOPE] [ROLE] [TTL_SECONDS]" >&2; exit 2; }
if (($# < 1 || $# > 4)) || [[ -z ${1:-} ]]; then usage; fi
sub=$1 scope=${2:-} role=${3:-} ttl=${4:-86400}
[[ $ttl =~ ^[0-9]+$ ]] || usage
key=${Auth__SigningKey:-}
[[ -n $key ]] || { echo "$0: Auth__SigningKey is not set" >&2; exit 1; }

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

json_str() { # JSON string literal of $1 (escapes \ " and control characters)
  local s=$1
  s=${s//\\/\\\\} s=${s//\"/\\\"}
  s=${s//$'\n'/\\n} s=${s//$'\r'/\\r} s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

now=$(date +%s)
payload="{\"sub\":$(json_str "$sub")"
[[ -n ${Auth__Issuer:-} ]] && payload+=",\"iss\":$(json_str "$Auth__Issuer")"
[[ -n ${Auth__Audience:-} ]] && payload+=",\"aud\":$(json_str "$Auth__Audience")"
[[ -n $scope ]] && payload+=",\"scope\":$(json_str "$scope")"
[[ -n $role ]] && payload+=",\"role\":$(json_str "$role")"
payload+=",\"iat\":$now,\"nbf\":$now,\"exp\":$((now + ttl))}"

signing_input="$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url).$(printf '%s' "$payload" | b64url)"
# hexkey: keys may contain any character; the hex of the key's bytes is safe.
hexkey=$(printf '%s' "$key" | od -An -v -tx1 | tr -d ' \n')
signature=$(printf '%s' "$signing_input" |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | b64url)
printf '%s.%s\n' "$signing_input" "$signature"

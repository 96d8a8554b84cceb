#!/usr/bin/env bash
# Checks a running deployment from outside, through its public address:
#   scripts/verify-deployment.sh URL [WEBHOOK_SECRET]
#   URL             e.g. http://localhost:8080 or https://bot.example.com
#   WEBHOOK_SECRET  (or env WEBHOOK_SECRET) one of GITHUB_WEBHOOK_SECRETS: also sends a signed `ping` delivery to
#                   /webhooks/github and expects 2xx.
#   VIEWER_TOKEN    (env; or ADMIN_TOKEN) a token of at least the viewer role, for /stats and /metrics unless the
#                   instance sets PUBLIC_STATS=true
# Checks /health (200, status ok or degraded), /stats (JSON with workers_alive >= 1), /metrics (through Caddy: 404,
# it is served on the private network only; against an instance directly: Prometheus text with the bisectbot_
# metrics), the security headers when Caddy answers, and that /job/1 without a token is refused (401 or 403). Prints
# one line per check; exits non-zero when any check fails.
set -uo pipefail
url=${1:?usage: verify-deployment.sh URL [WEBHOOK_SECRET]}
url=${url%/}
secret=${2:-${WEBHOOK_SECRET:-}}
token=${VIEWER_TOKEN:-${ADMIN_TOKEN:-}}
failures=0
body=$(mktemp)
trap 'rm -f "$body"' EXIT

check() { # NAME OK? DETAIL
  if [ "$2" = 0 ]; then echo "ok    $1: $3"; else echo "FAIL  $1: $3"; failures=$((failures + 1)); fi
}
fetch() { # PATH [TOKEN] -> status code, body in $body
  local auth=()
  [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
  curl -sS -m 15 -o "$body" -w '%{http_code}' "${auth[@]}" "$url$1" 2>/dev/null || true   # 000 when nothing answered
}

code=$(fetch /health)
status=$(grep -o '"status":"[a-z]*"' "$body" | head -1 | cut -d'"' -f4)
[ "$code" = 200 ] && { [ "$status" = ok ] || [ "$status" = degraded ]; }
check /health $? "HTTP $code, status ${status:-?} $(head -c 300 "$body")"

code=$(fetch /stats "$token")
alive=$(grep -o '"workers_alive":[0-9]*' "$body" | head -1 | cut -d: -f2)
pending=$(grep -o '"pending":[0-9]*' "$body" | head -1 | cut -d: -f2)
oldest=$(grep -o '"oldest_pending_age_seconds":[0-9.]*' "$body" | head -1 | cut -d: -f2)
[ "$code" = 200 ] && [ "${alive:-0}" -ge 1 ]
check /stats $? "HTTP $code, workers_alive ${alive:-?}, pending ${pending:-?}, oldest pending ${oldest:-?} s"

headers=$(curl -sS -m 15 -o /dev/null -D - "$url/health" 2>/dev/null | tr -d '\r' || true)
if grep -qi '^x-frame-options:' <<<"$headers"; then
  missing=""
  for h in 'x-content-type-options: nosniff' 'x-frame-options: deny' 'referrer-policy: no-referrer' \
           "content-security-policy: default-src 'self'"; do
    grep -qi "^$h" <<<"$headers" || missing="$missing [$h]"
  done
  [ -z "$missing" ]
  check "security headers" $? "${missing:-all present}"
  code=$(fetch /metrics)
  [ "$code" = 404 ]
  check "/metrics not public" $? "HTTP $code through the proxy"
else
  echo "skip  security headers and /metrics 404: no proxy in front (an instance answered directly)"
  code=$(fetch /metrics "$token")
  [ "$code" = 200 ] && grep -q '^bisectbot_workers_alive' "$body" && grep -q '^bisectbot_queue_depth' "$body"
  check /metrics $? "HTTP $code, $(grep -c '^bisectbot_' "$body") bisectbot_ samples"
fi

code=$(fetch /job/1)
[ "$code" = 401 ] || [ "$code" = 403 ]
check "/job/1 without a token" $? "HTTP $code (refused: 401 or 403)"

if [ -n "$secret" ]; then
  payload='{"zen":"Keep it logically awesome.","hook_id":1,"hook":{"type":"App","id":1,"events":[]}}'
  signature=$(printf '%s' "$payload" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
  delivery=verify-$(date +%s)-$$
  code=$(curl -sS -m 10 -o "$body" -w '%{http_code}' -X POST "$url/webhooks/github" \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: ping' -H "X-GitHub-Delivery: $delivery" \
    -H "X-Hub-Signature-256: sha256=$signature" --data-binary "$payload" 2>/dev/null || true)
  [ "${code:0:1}" = 2 ]
  check "/webhooks/github ping" $? "HTTP $code $(head -c 200 "$body")"
else
  echo "skip  /webhooks/github ping: no WEBHOOK_SECRET given"
fi

if [ "$failures" -gt 0 ]; then
  echo "verify-deployment: $failures check(s) failed for $url"
  exit 1
fi
echo "verify-deployment: all checks passed for $url"

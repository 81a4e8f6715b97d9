#!/usr/bin/env bash
# The demo: gatilho watching a few dozen documents of several types and companies, submitted to
# gatilho-sim (a local simulator of the fiscal API), with their webhooks arriving at a local
# receiver that checks every signature. The documents reach gatilho the three ways an ERP can
# tell it: a third are emitted through its transparent proxy (which registers them by itself),
# a third are registered over its local HTTP API, and a third are listed in a file dropped into
# its spool folder. Everything runs on loopback in a temporary folder.
#
#   scripts/demo.sh [--documents N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

documents=36
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --documents) documents=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
scripts/build.sh gatilho gatilho-sim >/dev/null
bin=$repo/${BUILD_DIR:-build}

work=$(mktemp -d /tmp/gatilho-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$keep" -eq 0 ]; then rm -rf "$work"; else echo "demo files kept in $work"; fi
}
trap cleanup EXIT

wait_port() {  # waits for "listening on http://127.0.0.1:PORT" in a log file
  for _ in $(seq 100); do
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$1" | head -n1)
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    sleep 0.1
  done
  echo "demo: $1 never said it was listening" >&2; exit 1
}

free_port() {  # a loopback port nothing listens on (the config files need a fixed one)
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "demo: found no free port" >&2; exit 1
}

secret="whsec_$(head -c 32 /dev/urandom | base64)"
token_acme="demo-token-acme-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
token_beta="demo-token-beta-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# The simulated API: documents finish in seconds (time scale 4), one in ten is rejected.
"$bin/gatilho-sim" api --port 0 --token "$token_acme" --token "$token_beta" --time-scale 4 \
  --seed 7 >"$work/sim.log" 2>&1 &
pids+=($!)
api_port=$(wait_port "$work/sim.log")

# The ERP's webhook endpoint.
"$bin/gatilho-sim" receiver --port 0 --secret "$secret" --record "$work/received.jsonl" \
  >"$work/receiver.log" 2>&1 &
pids+=($!)
receiver_port=$(wait_port "$work/receiver.log")

mkdir -p "$work/companies" "$work/data" "$work/spool"
local_api_port=$(free_port)
proxy_port=$(free_port)
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/api.token"
chmod 600 "$work/api.token"
api_token=$(cat "$work/api.token")
cat >"$work/gatilho.conf" <<CONF
data_dir = data
companies_dir = companies
log_level = info
api_token_file = api.token
api_listen = 127.0.0.1:$local_api_port
proxy_listen = 127.0.0.1:$proxy_port
spool_dir = spool
CONF
for company in acme beta; do
  token_var="token_$company"
  cnpj=$([ "$company" = acme ] && echo 07504505000132 || echo 11222333000181)
  cat >"$work/companies/$company.conf" <<CONF
cnpj = $cnpj
token = ${!token_var}
base_url = http://127.0.0.1:$api_port

[webhook]
url = http://127.0.0.1:$receiver_port/erp/$company
secret = $secret
CONF
done

"$bin/gatilho" check --config "$work/gatilho.conf" | sed 's/^/  /'
echo

"$bin/gatilho" run --config "$work/gatilho.conf" 2>"$work/gatilho.log" &
pids+=($!)
for _ in $(seq 100); do
  curl -sf -o /dev/null -H "Authorization: Bearer $api_token" \
    "http://127.0.0.1:$local_api_port/healthz" && break
  sleep 0.1
done

echo "submitting $documents documents; the ERP tells gatilho about them three ways:"
echo "  through the proxy (port $proxy_port), the local API (port $local_api_port), a spool file"
types=(nfe nfce nfse nfsen cte mdfe nfcom)
spool_lines=""
for i in $(seq 1 "$documents"); do
  company=$([ $((i % 2)) -eq 0 ] && echo acme || echo beta)
  token_var="token_$company"
  type=${types[$((i % ${#types[@]}))]}
  ref="PEDIDO-$i"
  case $((i % 3)) in
    0)  # emitted through the proxy: gatilho registers the watch from the answer by itself
      curl -s -o /dev/null -u "${!token_var}:" -X POST -H 'Content-Type: application/json' \
        -d '{"natureza_operacao":"Venda"}' "http://127.0.0.1:$proxy_port/v2/$type?ref=$ref" ;;
    1)  # emitted straight to the API, then registered over the local HTTP API
      curl -s -o /dev/null -u "${!token_var}:" -X POST -H 'Content-Type: application/json' \
        -d '{"natureza_operacao":"Venda"}' "http://127.0.0.1:$api_port/v2/$type?ref=$ref"
      curl -s -o /dev/null -H "Authorization: Bearer $api_token" -X POST \
        -d "{\"company\":\"$company\",\"type\":\"$type\",\"ref\":\"$ref\"}" \
        "http://127.0.0.1:$local_api_port/v1/watches" ;;
    2)  # emitted straight to the API, then listed in a file for the spool folder
      curl -s -o /dev/null -u "${!token_var}:" -X POST -H 'Content-Type: application/json' \
        -d '{"natureza_operacao":"Venda"}' "http://127.0.0.1:$api_port/v2/$type?ref=$ref"
      spool_lines+="$company $type $ref"$'\n' ;;
  esac
done
# Written under a .tmp name and renamed, as the spool folder asks, so it is never read half-done.
printf '%s' "$spool_lines" >"$work/spool/lote-1.txt.tmp"
mv "$work/spool/lote-1.txt.tmp" "$work/spool/lote-1.txt"
echo "webhooks arriving at the ERP (receiver on port $receiver_port):"
echo

tail -n +2 -f "$work/receiver.log" &
tail_pid=$!
pids+=($tail_pid)
deadline=$((SECONDS + 180))
while [ $SECONDS -lt $deadline ]; do
  pending=$("$bin/gatilho" status --config "$work/gatilho.conf" | sed -n 's/^watches: \([0-9]*\) pending.*/\1/p')
  undelivered=$("$bin/gatilho" status --config "$work/gatilho.conf" | sed -n 's/^events: *\([0-9]*\) pending.*/\1/p')
  if [ "${pending:-1}" = 0 ] && [ "${undelivered:-1}" = 0 ]; then break; fi
  sleep 1
done
sleep 0.5
kill "$tail_pid" 2>/dev/null || true

echo
echo "summary:"
"$bin/gatilho" status --config "$work/gatilho.conf" | sed 's/^/  /'
received=$(wc -l <"$work/received.jsonl" 2>/dev/null || echo 0)
stats=$(curl -s "http://127.0.0.1:$api_port/__sim/stats")
echo "  webhooks received and verified by the ERP: $received"
first_number() { grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2; }
echo "  API requests (the ERP's submissions and gatilho's polls): $(echo "$stats" | first_number requests)"
echo "  requests refused with 429: $(echo "$stats" | first_number rate_limited)"
echo "  the spool file went to: $(cd "$work/spool" && ls -d done/* rejected/* 2>/dev/null | tr '\n' ' ')"
echo "  from /metrics:"
curl -s -H "Authorization: Bearer $api_token" "http://127.0.0.1:$local_api_port/metrics" |
  grep -E '^gatilho_(polls_total|deliveries_total|dead_letters_total|token_erp_requests_total)' |
  sed 's/^/    /'
echo "  one document in detail:"
"$bin/gatilho" status --config "$work/gatilho.conf" acme nfce PEDIDO-8 | sed 's/^/    /'

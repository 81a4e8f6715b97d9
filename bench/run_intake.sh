#!/usr/bin/env bash
# A quick probe of the intakes, in real time: the real daemon with its local HTTP API and proxy
# over gatilho-sim on loopback. Prints three tries each of: registering 10 000 watches in one
# POST /v1/watches, GET /metrics and GET /v1/status with those watches pending, and 45
# sequential GETs on one kept-alive connection straight to the simulator and through the proxy.
# Uses the binaries in ./build (scripts/build.sh builds them); needs curl and python3. Under a
# minute. Results: bench/results/intake.txt.
#   bench/run_intake.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh gatilho gatilho-sim >/dev/null
bin=$(pwd)/${BUILD_DIR:-build}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), load $(cut -d' ' -f1 /proc/loadavg) at start; $(date -u +%Y-%m-%dT%H:%MZ)"
work=$(mktemp -d /tmp/gatilho-measure-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
wait_port() { for _ in $(seq 100); do p=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$1" | head -n1); [ -n "$p" ] && { echo $p; return; }; sleep 0.1; done; exit 1; }
tok=measure-token-0123456789
"$bin/gatilho-sim" api --port 0 --token $tok --token measure-proxy-token-1 --token measure-proxy-token-2 --token measure-proxy-token-3 --time-scale 1000 >"$work/sim.log" 2>&1 & pids+=($!)
sim=$(wait_port "$work/sim.log")
"$bin/gatilho-sim" receiver --port 0 >"$work/rcv.log" 2>&1 & pids+=($!)
rcv=$(wait_port "$work/rcv.log")
mkdir -p "$work/companies"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/api.token"; chmod 600 "$work/api.token"
at=$(cat "$work/api.token")
cat >"$work/gatilho.conf" <<C
data_dir = data
companies_dir = companies
log_level = warn
api_token_file = api.token
api_listen = 127.0.0.1:28470
proxy_listen = 127.0.0.1:28471
proxy_upstream = http://127.0.0.1:$sim
C
cat >"$work/companies/acme.conf" <<C
cnpj = 07504505000132
token = $tok
base_url = http://127.0.0.1:$sim
[webhook]
url = http://127.0.0.1:$rcv/erp
C
"$bin/gatilho" run --config "$work/gatilho.conf" 2>"$work/g.log" & pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null -H "Authorization: Bearer $at" http://127.0.0.1:28470/healthz && break; sleep 0.1; done
python3 -c 'import json;print(json.dumps({"watches":[{"company":"acme","type":"nfe","ref":"R%d"%i} for i in range(10000)]}))' >"$work/batch.json"
for i in 1 2 3; do
  curl -s -o /dev/null -w "POST /v1/watches 10000 watches: %{http_code} %{time_total}s\n" -H "Authorization: Bearer $at" --data-binary @"$work/batch.json" http://127.0.0.1:28470/v1/watches
done
for i in 1 2 3; do curl -s -o /dev/null -w "GET /metrics: %{http_code} %{size_download} B %{time_total}s\n" -H "Authorization: Bearer $at" http://127.0.0.1:28470/metrics; done
for i in 1 2 3; do curl -s -o /dev/null -w "GET /v1/status: %{http_code} %{time_total}s\n" -H "Authorization: Bearer $at" http://127.0.0.1:28470/v1/status; done
urls_d=(); urls_p=()
for i in $(seq 45); do urls_d+=("http://127.0.0.1:$sim/v2/nfe/R$i"); urls_p+=("http://127.0.0.1:28471/v2/nfe/R$i"); done
for round in 1 2 3; do
  s=$(date +%s%N); curl -s -u measure-proxy-token-$round: "${urls_d[@]}" >/dev/null; d=$(( ($(date +%s%N)-s)/1000000 ))
  s=$(date +%s%N); curl -s -u measure-proxy-token-$round: "${urls_p[@]}" >/dev/null; p=$(( ($(date +%s%N)-s)/1000000 ))
  echo "45 sequential GETs on one connection: direct ${d} ms, through the proxy ${p} ms"
done

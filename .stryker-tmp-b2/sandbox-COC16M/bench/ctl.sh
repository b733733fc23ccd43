#!/usr/bin/env bash
# apxs-ts ctl start/stop against the raw pair on the same sandbox, alternating:
#   start: apache2 -k start, then a curl poll loop until / answers below 500
#   stop:  apache2 -k stop, then waiting until the pid file is gone
# Usage: bash bench/ctl.sh [RUNS]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-15}
npm run --silent build
APXS_TS=(node "$PWD/bin/apxs-ts.js")
work=$(mktemp -d -t apxs-ts-bench-XXXXXX)
chmod 755 "$work"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
sr="$work/srv"
trap '"${APXS_TS[@]}" ctl stop --server-root "$sr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"${APXS_TS[@]}" sandbox create "$sr" --port "$port" --no-project >/dev/null 2>&1
HTTPD=$(node -e 'console.log(require(process.argv[1]).httpd)' "$sr/apxs-ts-sandbox.json")
url="http://127.0.0.1:$port/"
pidfile="$sr/logs/httpd.pid"

raw_start() {
  "$HTTPD" -d "$sr" -f conf/httpd.conf -k start
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" -lt 500 ] 2>/dev/null; do sleep 0.005; done
}
raw_stop() {
  "$HTTPD" -d "$sr" -f conf/httpd.conf -k stop
  while [ -e "$pidfile" ]; do sleep 0.005; done
}
ts_start() { "${APXS_TS[@]}" ctl start --server-root "$sr"; }
ts_stop() { "${APXS_TS[@]}" ctl stop --server-root "$sr"; }

: > "$work/raw_start.txt"; : > "$work/raw_stop.txt"; : > "$work/ts_start.txt"; : > "$work/ts_stop.txt"
raw_start; raw_stop   # warm-up
for ((i = 0; i < RUNS; i++)); do
  time_ms raw_start >> "$work/raw_start.txt"; time_ms raw_stop >> "$work/raw_stop.txt"
  time_ms ts_start >> "$work/ts_start.txt";   time_ms ts_stop >> "$work/ts_stop.txt"
done
rs=$(median < "$work/raw_start.txt"); ts=$(median < "$work/ts_start.txt"); rp=$(median < "$work/raw_stop.txt"); tp=$(median < "$work/ts_stop.txt")
echo "runs: $RUNS (alternating), $(nproc) CPUs, $("$HTTPD" -v | head -1 | sed 's/Server version: //'), node $(node --version)"
echo "start: apache2 -k start + curl poll: median $rs ms;  apxs-ts ctl start: median $ts ms;  ratio $(ratio "$ts" "$rs");  added $(awk -v a="$ts" -v b="$rs" 'BEGIN{printf "%.1f", a-b}') ms (goal <= 100)"
echo "stop:  apache2 -k stop + pid file gone: median $rp ms;  apxs-ts ctl stop: median $tp ms;  ratio $(ratio "$tp" "$rp");  added $(awk -v a="$tp" -v b="$rp" 'BEGIN{printf "%.1f", a-b}') ms (goal <= 100)"

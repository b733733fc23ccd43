#!/usr/bin/env bash
# `apxs-ts test` against the same work done by hand, alternating, median:
#   by hand:  on a root prepared once (a sandbox with the C hello module
#             installed): apache2 -k start, a curl poll until / answers,
#             20 curls each checking status, Content-Type and body, -k stop
#             and waiting until the pid file is gone;
#   apxs-ts:  apxs-ts test with one case file of the same 20 cases: the build
#             check, a throwaway root made, the module installed (configtest),
#             start, the 20 cases with the error log read per case, stop, the
#             root deleted.
# Usage: bash bench/test-run.sh [RUNS]   (default 11)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-11}
npm run --silent build
APXS_TS=(node "$PWD/bin/apxs-ts.js")
work=$(mktemp -d -t apxs-ts-bench-XXXXXX)
chmod 755 "$work"
# Its own cache dir: the shared one may hold another checkout's formats.
export XDG_CACHE_HOME="$work/cache"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
sr="$work/srv"
trap '"${APXS_TS[@]}" ctl stop --server-root "$sr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"${APXS_TS[@]}" sandbox create "$sr" --port "$port" --no-project >/dev/null 2>&1
(cd "$work" && "${APXS_TS[@]}" new benchhello --template hello >/dev/null 2>&1)
mod="$work/mod_benchhello"
"${APXS_TS[@]}" build "$mod" >/dev/null
"${APXS_TS[@]}" install "$mod" --server-root "$sr" >/dev/null 2>&1
HTTPD=$(node -e 'console.log(require(process.argv[1]).httpd)' "$sr/apxs-ts-sandbox.json")
base="http://127.0.0.1:$port"
pidfile="$sr/logs/httpd.pid"
expected=$'Hello from mod_benchhello'

# The 20 cases: GET /benchhello/N, status 200, text/plain, the hello line.
cases="$work/cases.yaml"
{
  echo 'cases:'
  for ((n = 1; n <= 20; n++)); do
    echo "  - name: case $n"
    echo "    request: /benchhello/$n"
    echo '    expect:'
    echo '      status: 200'
    echo '      headers: { Content-Type: { contains: text/plain } }'
    echo '      body: "Hello from mod_benchhello\n"'
  done
} > "$cases"

by_hand() {
  "$HTTPD" -d "$sr" -f conf/httpd.conf -k start
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/")" -lt 500 ] 2>/dev/null; do sleep 0.005; done
  local n out
  for ((n = 1; n <= 20; n++)); do
    out=$(curl -s -w '\n%{http_code} %{content_type}' "$base/benchhello/$n")
    [ "$(head -1 <<<"$out")" = "$expected" ] || { echo "case $n: body $out"; return 1; }
    [[ "$(tail -1 <<<"$out")" == "200 text/plain"* ]] || { echo "case $n: $(tail -1 <<<"$out")"; return 1; }
  done
  "$HTTPD" -d "$sr" -f conf/httpd.conf -k stop
  while [ -e "$pidfile" ]; do sleep 0.005; done
}
with_apxs_ts() { "${APXS_TS[@]}" test "$mod" --file "$cases" -q; }

: > "$work/hand.txt"; : > "$work/ts.txt"
by_hand; with_apxs_ts   # warm-up (and both must pass)
for ((i = 0; i < RUNS; i++)); do
  time_ms by_hand >> "$work/hand.txt"
  time_ms with_apxs_ts >> "$work/ts.txt"
done
h=$(median < "$work/hand.txt"); t=$(median < "$work/ts.txt")
echo "runs: $RUNS (alternating), $(nproc) CPUs, $("$HTTPD" -v | head -1 | sed 's/Server version: //'), node $(node --version)"
echo "by hand (prepared root; -k start, 20 curls with checks, -k stop): median $h ms"
echo "apxs-ts test (throwaway root, install, start, 20 cases, stop, delete): median $t ms   ratio $(ratio "$t" "$h") x by hand   (goal <= 2)"

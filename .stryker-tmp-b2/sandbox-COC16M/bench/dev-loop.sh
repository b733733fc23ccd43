#!/usr/bin/env bash
# Edit-to-served latency: from the write of the module's source file to the
# first response showing the new text, same module, same sandbox, alternating:
#   manual:        apxs -c mod_devb.c, copy the .so into the sandbox, apache2 -k graceful, curl poll
#   manual/restart: the same with -k restart (how much of the gap is graceful's)
#   apxs-ts dev:   a running `apxs-ts dev` (plain restarts, its default), curl poll
#   dev --graceful: a running `apxs-ts dev --graceful`, curl poll
# The issue's manual loop is `apxs -i -a -c mod_x.c && apachectl -k graceful`;
# Debian's apxs -i -a would install into the system's module dir and edit
# /etc/apache2, so this script does the same work by hand against the
# sandbox: `apxs -c` (libtool compile and link), a copy of .libs/mod_devb.so
# into SANDBOX/modules (temp + rename, as apxs -i's install does), and
# `apache2 -d SANDBOX -f conf/httpd.conf -k graceful` (apachectl's own call).
# Each loop edits its own copy of the same module (a dev loop watches its
# directory and would react to the manual loop's edits); all install the
# same mod_devb.so into the same sandbox.
# Usage: bash bench/dev-loop.sh [RUNS]   (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-9}
npx tsc -p tsconfig.json
APXS_TS=(node "$PWD/bin/apxs-ts.js")
APXS=/usr/bin/apxs
work=$(mktemp -d -t apxs-ts-bench-XXXXXX)
chmod 755 "$work"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
sr="$work/srv"
devpids=()
cleanup() {
  for p in "${devpids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "${APXS_TS[@]}" ctl stop --server-root "$sr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"${APXS_TS[@]}" sandbox create "$sr" --port "$port" --no-project >/dev/null 2>&1
HTTPD=$(node -e 'console.log(require(process.argv[1]).httpd)' "$sr/apxs-ts-sandbox.json")
url="http://127.0.0.1:$port/devb"
(cd "$work" && "${APXS_TS[@]}" new devb --template hello >/dev/null 2>&1)
for d in manual restart graceful; do cp -r "$work/mod_devb" "$work/$d"; done
"${APXS_TS[@]}" install "$work/mod_devb" --server-root "$sr" >/dev/null 2>&1
"${APXS_TS[@]}" ctl start --server-root "$sr" >/dev/null

# set_text DIR TEXT: the one write the latency is measured from (a temp file renamed over the source, as editors save).
set_text() {
  sed "s/Hello from mod_devb[^\\\\]*\\\\n/Hello from mod_devb $2\\\\n/" "$1/mod_devb.c" > "$1/.mod_devb.c.new"
  mv "$1/.mod_devb.c.new" "$1/mod_devb.c"
}
served() { until curl -s "$url" | grep -q "mod_devb $1\$"; do sleep 0.005; done; }
manual() { # DIR VERB TEXT
  set_text "$1" "$3"
  (cd "$1" && "$APXS" -c mod_devb.c >/dev/null 2>&1)
  cp "$1/.libs/mod_devb.so" "$sr/modules/.mod_devb.so.tmp" && mv "$sr/modules/.mod_devb.so.tmp" "$sr/modules/mod_devb.so"
  "$HTTPD" -d "$sr" -f conf/httpd.conf -k "$2"
  served "$3"
}
start_dev() { # DIR OUT [ARGS]
  local dir=$1 out=$2
  shift 2
  : > "$out"
  "${APXS_TS[@]}" dev "$dir" --server-root "$sr" --json "$@" > "$out" 2>&1 &
  devpids+=($!)
  until [ "$(wc -l < "$out")" -ge 1 ]; do sleep 0.05; done
  grep -q '"ok":true' "$out" || { echo "dev did not start:" >&2; cat "$out" >&2; exit 1; }
}
dev_run() { # DIR OUT TEXT CYCLES-BEFORE
  set_text "$1" "$3"
  served "$3"
  # Idle again before the next edit: its cycle line is out.
  until [ "$(wc -l < "$2")" -gt "$4" ]; do sleep 0.01; done
}
start_dev "$work/mod_devb" "$work/dev.out"
start_dev "$work/graceful" "$work/graceful.out" --graceful

: > "$work/manual.txt"; : > "$work/restart.txt"; : > "$work/dev.txt"; : > "$work/graceful.txt"
manual "$work/manual" graceful warm   # warm-up (page cache, libtool)
for ((i = 0; i < RUNS; i++)); do
  time_ms manual "$work/manual" graceful "m$i" >> "$work/manual.txt"
  time_ms dev_run "$work/mod_devb" "$work/dev.out" "d$i" "$(wc -l < "$work/dev.out")" >> "$work/dev.txt"
  time_ms manual "$work/restart" restart "r$i" >> "$work/restart.txt"
  time_ms dev_run "$work/graceful" "$work/graceful.out" "g$i" "$(wc -l < "$work/graceful.out")" >> "$work/graceful.txt"
done
grep -q '"ok":false' "$work/dev.out" "$work/graceful.out" && { echo "a dev cycle failed:" >&2; grep '"ok":false' "$work/dev.out" "$work/graceful.out" >&2; exit 1; }
m=$(median < "$work/manual.txt"); r=$(median < "$work/restart.txt"); d=$(median < "$work/dev.txt"); g=$(median < "$work/graceful.txt")
echo "runs: $RUNS (alternating), $(nproc) CPUs, $("$HTTPD" -v | head -1 | sed 's/Server version: //'), $(gcc --version | head -1), node $(node --version)"
echo "manual (apxs -c, cp .so, apache2 -k graceful, curl poll): median $m ms  (runs: $(sort -n "$work/manual.txt" | tr '\n' ' '))"
echo "manual with -k restart instead:                          median $r ms  (runs: $(sort -n "$work/restart.txt" | tr '\n' ' '))"
echo "apxs-ts dev (plain restart):                             median $d ms  (runs: $(sort -n "$work/dev.txt" | tr '\n' ' '))"
echo "apxs-ts dev --graceful:                                  median $g ms  (runs: $(sort -n "$work/graceful.txt" | tr '\n' ' '))"
# Where a dev cycle's time goes (its own timings, first cycle left out): the rest of edit-to-served is the debounce, the watch and the curl poll.
steps() {
  node -e '
    const med = (a) => { a.sort((x, y) => x - y); const m = a.length >> 1; return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2; };
    const c = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{")).map(JSON.parse).filter((j) => j.event === "cycle" && j.cycle > 1 && j.ok);
    const f = (k) => med(c.map(k)).toFixed(0);
    console.log(`median of ${c.length} cycles: build ${f((j) => j.build.ms)} ms, install ${f((j) => j.installed.ms)} ms, ${c[0].server.action} ${f((j) => j.server.ms)} ms, request ${f((j) => j.request.latencyMs)} ms; cycle ${f((j) => j.elapsedMs)} ms`);
  ' "$1"
}
echo "apxs-ts dev cycles:            $(steps "$work/dev.out")"
echo "apxs-ts dev --graceful cycles: $(steps "$work/graceful.out")"
echo "ratio dev / manual: $(ratio "$d" "$m") (goal <= 0.25);  dev / manual -k restart: $(ratio "$d" "$r");  dev --graceful / manual: $(ratio "$g" "$m")"

#!/usr/bin/env bash
# Edit-to-served latency against the best manual loop (issue #21's anchor), for
# the C hello module and the C++ info module, alternating, medians:
#   manual C:    apxs -c mod_devb.c, copy .libs/mod_devb.so into the sandbox (temp + rename),
#                apache2 -k restart, curl poll until the new text is served
#   manual C++:  g++ with apxs's own flags (-shared, as apxs would link), the same copy,
#                apache2 -k restart, curl poll
#   apxs-ts dev: a running `apxs-ts dev` per module (its defaults: debug build, plain restart), curl poll
# -k restart, not graceful: after graceful httpd starts the new children from its
# once-a-second maintenance tick, which would flatter any loop compared with it.
# Each loop edits its own copy of the module (a dev watches its directory).
# The waits spawn nothing (a bash read with a timeout on a FIFO, mapfile to count
# dev's lines): a poll that forks curl, grep, wc and sleep every 5 ms while dev
# compiles takes CPU from the compile on a 2-CPU machine, which the manual loop,
# whose poll starts after its restart, never paid. dev's cycle line is written
# after its own request of the page; one curl then checks the text is served.
# Usage: bash bench/dev-loop-restart.sh [RUNS]   (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-9}
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
(cd "$work" && "${APXS_TS[@]}" new devb --template hello >/dev/null 2>&1 && "${APXS_TS[@]}" new devi --template info --cpp >/dev/null 2>&1)
cp -r "$work/mod_devb" "$work/manual_c"; cp -r "$work/mod_devi" "$work/manual_cpp"
"${APXS_TS[@]}" install "$work/mod_devb" --server-root "$sr" >/dev/null 2>&1
"${APXS_TS[@]}" install "$work/mod_devi" --server-root "$sr" >/dev/null 2>&1
"${APXS_TS[@]}" ctl start --server-root "$sr" >/dev/null
CXXFLAGS_APXS="$($APXS -q CFLAGS) $($APXS -q CPPFLAGS) $($APXS -q EXTRA_CPPFLAGS) -I$($APXS -q INCLUDEDIR) $($APXS -q EXTRA_INCLUDES) -fPIC -shared $($APXS -q LDFLAGS)"

# The one write each run is measured from (a temp file renamed over the source, as editors save).
set_c() { sed "s/Hello from mod_devb[^\\\\]*\\\\n/Hello from mod_devb $2\\\\n/" "$1/mod_devb.c" > "$1/.new" && mv "$1/.new" "$1/mod_devb.c"; }
set_cpp() { sed "s/ (C++[^)]*)</ (C++ $2)</" "$1/mod_devi.cpp" > "$1/.new" && mv "$1/.new" "$1/mod_devi.cpp"; }
mkfifo "$work/tick"; exec 9<>"$work/tick"
nap() { read -rt 0.005 -u 9 || true; }
count_lines() { mapfile -t _lines < "$1"; _n=${#_lines[@]}; }
served_c() { until curl -s "http://127.0.0.1:$port/devb" | grep -q "mod_devb $1\$"; do nap; done; }
served_cpp() { until curl -s "http://127.0.0.1:$port/devi" | grep -q "(C++ $1)"; do nap; done; }
install_so() { cp "$1" "$sr/modules/.$2.tmp" && mv "$sr/modules/.$2.tmp" "$sr/modules/$2"; }
manual_c() {
  set_c "$work/manual_c" "$1"
  (cd "$work/manual_c" && "$APXS" -c mod_devb.c >/dev/null 2>&1)
  install_so "$work/manual_c/.libs/mod_devb.so" mod_devb.so
  "$HTTPD" -d "$sr" -f conf/httpd.conf -k restart
  served_c "$1"
}
manual_cpp() {
  set_cpp "$work/manual_cpp" "$1"
  # shellcheck disable=SC2086
  g++ $CXXFLAGS_APXS -o "$work/manual_cpp/mod_devi.so" "$work/manual_cpp/mod_devi.cpp"
  install_so "$work/manual_cpp/mod_devi.so" mod_devi.so
  "$HTTPD" -d "$sr" -f conf/httpd.conf -k restart
  served_cpp "$1"
}
start_dev() { # DIR OUT
  : > "$2"
  "${APXS_TS[@]}" dev "$1" --server-root "$sr" --json > "$2" 2>&1 &
  devpids+=($!)
  until [ "$(wc -l < "$2")" -ge 1 ]; do sleep 0.05; done
  grep -q '"ok":true' "$2" || { echo "dev did not start:" >&2; cat "$2" >&2; exit 1; }
}
# A save, then dev's next cycle line (written after its request), then the text checked as served.
dev_wait() { count_lines "$1"; local before=$_n; "${@:2}"; until count_lines "$1"; [ "$_n" -gt "$before" ]; do nap; done; }
dev_c() { dev_wait "$work/dev_c.out" set_c "$work/mod_devb" "$1"; served_c "$1"; }
dev_cpp() { dev_wait "$work/dev_cpp.out" set_cpp "$work/mod_devi" "$1"; served_cpp "$1"; }
start_dev "$work/mod_devb" "$work/dev_c.out"
start_dev "$work/mod_devi" "$work/dev_cpp.out"

# CPU time beside wall time, which the other users of the machine do not change much: user+sys
# clock ticks from /proc/PID/stat (utime, stime, cutime, cstime after "pid (comm) "), read without
# forking. Manual: the bench shell's reaped children during the manual loop (apxs/g++, cp,
# httpd -k restart, curl). dev: the dev process and its reaped children (gcc, httpd -t) during its
# cycle; the bench's own curls for dev are not in it (a few ms). httpd's own restart is in neither.
_cpu=0
cpu_of() { # PID [children-only]
  local l; read -r l < "/proc/$1/stat"; l=${l##*) }; local -a f=($l)
  if [ -n "${2:-}" ]; then _cpu=$((f[13] + f[14])); else _cpu=$((f[11] + f[12] + f[13] + f[14])); fi
}
declare -A cpu=([mc]=0 [dc]=0 [mx]=0 [dx]=0)
cpu_run() { # KEY PID CHILDREN-ONLY CMD...: runs time_ms CMD >> KEY.txt, adds the CPU ticks to cpu[KEY]
  local key=$1 pid=$2 kids=$3 before; shift 3
  cpu_of "$pid" "$kids"; before=$_cpu
  time_ms "$@" >> "$work/$key.txt"
  cpu_of "$pid" "$kids"; cpu[$key]=$((cpu[$key] + _cpu - before))
}
for f in mc dc mx dx; do : > "$work/$f.txt"; done
manual_c warm; manual_cpp warm   # warm-up (page cache, libtool, headers)
for ((i = 0; i < RUNS; i++)); do
  cpu_run mc $$ kids manual_c "m$i"
  cpu_run dc "${devpids[0]}" "" dev_c "d$i"
  cpu_run mx $$ kids manual_cpp "m$i"
  cpu_run dx "${devpids[1]}" "" dev_cpp "d$i"
done
grep -q '"ok":false' "$work/dev_c.out" "$work/dev_cpp.out" && { echo "a dev cycle failed:" >&2; grep '"ok":false' "$work"/dev_*.out >&2; exit 1; }
mc=$(median < "$work/mc.txt"); dc=$(median < "$work/dc.txt"); mx=$(median < "$work/mx.txt"); dx=$(median < "$work/dx.txt")
echo "runs: $RUNS (alternating), $(nproc) CPUs, $("$HTTPD" -v | head -1 | sed 's/Server version: //'), $(gcc --version | head -1), node $(node --version)"
echo "C hello,  manual (apxs -c, cp, -k restart, curl poll): median $mc ms  (runs: $(sort -n "$work/mc.txt" | tr '\n' ' '))"
echo "C hello,  apxs-ts dev:                                median $dc ms  (runs: $(sort -n "$work/dc.txt" | tr '\n' ' '))"
echo "C++ info, manual (g++ apxs flags, cp, -k restart, poll): median $mx ms  (runs: $(sort -n "$work/mx.txt" | tr '\n' ' '))"
echo "C++ info, apxs-ts dev:                                  median $dx ms  (runs: $(sort -n "$work/dx.txt" | tr '\n' ' '))"
steps() {
  node -e '
    const med = (a) => { a.sort((x, y) => x - y); const m = a.length >> 1; return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2; };
    const c = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{")).map(JSON.parse).filter((j) => j.event === "cycle" && j.cycle > 1 && j.ok);
    const f = (k) => med(c.map(k)).toFixed(0);
    console.log(`median of ${c.length} cycles: build ${f((j) => j.build.ms)} ms, install ${f((j) => j.installed.ms)} ms, ${c[0].server.action} ${f((j) => j.server.ms)} ms, request ${f((j) => j.request.latencyMs)} ms; cycle ${f((j) => j.elapsedMs)} ms`);
  ' "$1"
}
echo "apxs-ts dev C cycles:   $(steps "$work/dev_c.out")"
echo "apxs-ts dev C++ cycles: $(steps "$work/dev_cpp.out")"
tick_ms=$((1000 / $(getconf CLK_TCK)))
per() { awk -v t="${cpu[$1]}" -v ms="$tick_ms" -v n="$RUNS" 'BEGIN { printf "%.0f", t * ms / n }'; }
echo "CPU per cycle (user+sys, mean of $RUNS): C manual $(per mc) ms, dev $(per dc) ms;" \
  "C++ manual $(per mx) ms, dev $(per dx) ms; ratio C $(ratio "$(per dc)" "$(per mc)")," \
  "C++ $(ratio "$(per dx)" "$(per mx)")"
echo "ratio dev / manual restart: C $(ratio "$dc" "$mc"), C++ $(ratio "$dx" "$mx") (goal <= 0.5)"

#!/usr/bin/env bash
# What two of ctl status's steps cost beside the whole command, for the 10%
# rule of issue #19 (a speed trick must buy >= 10% of a figure a user feels):
# reading a running httpd's listening addresses from /proc/net/tcp{,6}, and
# the /proc scan for other parents and orphaned workers. Each is timed in one
# Node process (median of RUNS calls), `ctl status` on a running sandbox as a
# whole (median of RUNS runs of the CLI). Usage: bash bench/status-costs.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=${1:-21}
repo=$PWD
[ -f dist/commands/index.js ] || npm run build >/dev/null
work=$(mktemp -d -t apxs-ts-bench-status-XXXXXX)
chmod 755 "$work"
cli=(node "$repo/bin/apxs-ts.js")
cleanup() { "${cli[@]}" ctl stop --server-root "$work/srv" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export XDG_CACHE_HOME="$work/cache"
cd "$work" # sandbox create records the sandbox in ./apxs-ts.json
"${cli[@]}" sandbox create "$work/srv" --port "$port" >/dev/null 2>&1
"${cli[@]}" ctl start --server-root "$work/srv" >/dev/null 2>&1
"${cli[@]}" ctl status --server-root "$work/srv" >/dev/null 2>&1
pid=$(cat "$work/srv/logs/httpd.pid")
status=""
for ((r = 0; r < runs; r++)); do status+="$(time_ms "${cli[@]}" ctl status --server-root "$work/srv") "; done
node -e '
  const { listeningAddresses } = require(process.argv[1] + "/dist/lib/core/ports.js");
  const { detectServerRoot } = require(process.argv[1] + "/dist/lib/httpd/server-root.js");
  const { findServerProcesses } = require(process.argv[1] + "/dist/lib/ctl/identity.js");
  const runs = Number(process.argv[4]);
  const med = (f) => { const t = []; for (let i = 0; i < runs; i++) { const a = process.hrtime.bigint(); f(); t.push(Number(process.hrtime.bigint() - a) / 1e6); } t.sort((x, y) => x - y); return t[runs >> 1]; };
  detectServerRoot(process.argv[2]).then((sr) => {
    const pid = Number(process.argv[3]);
    if (listeningAddresses(pid).length === 0) throw new Error("the sandbox listens on nothing");
    console.log(`listening-tables ${med(() => listeningAddresses(pid)).toFixed(2)}`);
    console.log(`process-scan ${med(() => findServerProcesses(sr)).toFixed(2)}`);
  });
' "$repo" "$work/srv" "$pid" "$runs" >"$work/inproc"
s=$(echo "$status" | tr ' ' '\n' | grep -v '^$' | median)
echo "runs: $runs, $(nproc) CPUs, node $(node --version), $(wc -l </proc/net/tcp) lines in /proc/net/tcp"
echo "ctl status (whole command, running sandbox): median $s ms"
while read -r name ms; do
  printf '%-17s median %5.2f ms = %4.1f%% of ctl status\n' "$name" "$ms" "$(awk -v a="$ms" -v b="$s" 'BEGIN { print 100 * a / b }')"
done <"$work/inproc"

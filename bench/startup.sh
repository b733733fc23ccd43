#!/usr/bin/env bash
# Start-up: `apxs-ts --version`, `--help`, a no-op `build` and `ctl status`
# (a running sandbox) each side by side with `node -e 0`, alternating, median
# of the per-pair ratios (goal <= 1.4, issue #19). The same four through the tsc build
# (dist/commands/index.js, one file per module) are shown for comparison.
# Usage: bash bench/startup.sh [RUNS]   (default 21)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=${1:-21}
repo=$PWD
work=$(mktemp -d -t apxs-ts-bench-startup-XXXXXX)
chmod 755 "$work"
# The package as it installs: bin/, the bundle of the current sources, templates/, package.json, node_modules.
# (Built here, not in dist/: other work in this checkout keeps using its own dist/.)
[ -f dist/commands/index.js ] || npx tsc -p tsconfig.json
mkdir -p "$work/pkg/bin" "$work/pkg/dist"
cp bin/apxs-ts.js "$work/pkg/bin/"
cp package.json "$work/pkg/"
ln -s "$repo/templates" "$work/pkg/templates"
ln -s "$repo/node_modules" "$work/pkg/node_modules"
node scripts/bundle.mjs "$work/pkg/dist/apxs-ts.cjs"
bundle=(node "$work/pkg/bin/apxs-ts.js")
# The tsc build, as bin/apxs-ts.js loads it when there is no bundle.
cat >"$work/tsc-cli.js" <<JS
require('$repo/dist/commands/index.js').main(process.argv).then((c) => { process.exitCode = c; });
JS
tsc=(node "$work/tsc-cli.js")
cleanup() { "${bundle[@]}" ctl stop --server-root "$work/srv" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cd "$work"
"${bundle[@]}" sandbox create ./srv --port "$port" >/dev/null 2>&1
"${bundle[@]}" new hello --template hello >/dev/null 2>&1
(cd mod_hello && "${bundle[@]}" build >/dev/null 2>&1)
"${bundle[@]}" ctl start >/dev/null 2>&1
# Every case must succeed before it is timed (a no-op build, a healthy status).
(cd mod_hello && "${bundle[@]}" build --json | grep -q '"upToDate":true')
"${bundle[@]}" ctl status >/dev/null

cases=("--version" "--help" "build" "ctl status")
dir_of() { [ "$1" = build ] && echo "$work/mod_hello" || echo "$work"; }
declare -A anchor subject ref
for ((r = 0; r < runs; r++)); do
  for c in "${cases[@]}"; do
    d=$(dir_of "$c")
    # shellcheck disable=SC2086
    anchor[$c]+="$(cd "$d" && time_ms node -e 0) "
    subject[$c]+="$(cd "$d" && time_ms "${bundle[@]}" $c) "
    ref[$c]+="$(cd "$d" && time_ms "${tsc[@]}" $c) "
  done
done

node_v=$(node --version)
# NODE_EXTRA_CA_CERTS makes every node start read those certificates (~30 ms with Debian's bundle):
# it roughly doubles `node -e 0`, so the ratios are comparable only between runs that agree on it.
echo "runs: $runs (alternating), $(nproc) CPUs, node $node_v, bundle $(du -k "$work/pkg/dist/apxs-ts.cjs" | cut -f1) KB," \
  "load average $(cut -d' ' -f1 /proc/loadavg), NODE_EXTRA_CA_CERTS ${NODE_EXTRA_CA_CERTS:-unset}"
med() { tr ' ' '\n' | grep -v '^$' | median; }
for c in "${cases[@]}"; do
  a=(${anchor[$c]}) s=(${subject[$c]}) t=(${ref[$c]})
  pair=$(for ((i = 0; i < ${#a[@]}; i++)); do ratio "${s[i]}" "${a[i]}"; done | median)
  tpair=$(for ((i = 0; i < ${#a[@]}; i++)); do ratio "${t[i]}" "${a[i]}"; done | median)
  printf '%-12s node -e 0: median %6.1f ms;  apxs-ts: median %6.1f ms;  ratio %s (goal <= 1.4);  tsc build: median %6.1f ms, ratio %s\n' \
    "$c" "$(echo "${anchor[$c]}" | med)" "$(echo "${subject[$c]}" | med)" "$pair" "$(echo "${ref[$c]}" | med)" "$tpair"
done

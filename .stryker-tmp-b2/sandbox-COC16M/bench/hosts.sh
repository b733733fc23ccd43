#!/usr/bin/env bash
# hosts add / remove on a 100,000-line hosts file: apxs-ts against hostile
# (from npm, installed into a temp dir for this benchmark only), alternating.
# hostile always edits /etc/hosts, so it runs in a private mount namespace
# (unshare -m) where a temp file is bind-mounted over /etc/hosts: the
# machine's own /etc/hosts is never touched. apxs-ts edits its own copy of
# the same content through --hosts-file.
# Usage: bash bench/hosts.sh [RUNS]   (default 11; needs root for unshare)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-11}
npm run --silent build
work=$(mktemp -d -t apxs-ts-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund hostile@1 >/dev/null 2>&1)
node -e '
  const lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"];
  for (let i = 0; i < 100000 - 2; i++) lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\thost${i}.lan`);
  require("fs").writeFileSync(process.argv[1], lines.join("\n") + "\n");
' "$work/hosts-hostile"
cp "$work/hosts-hostile" "$work/hosts-ours"
cp "$work/hosts-hostile" "$work/hosts-pristine"
mkdir "$work/backups"
export APXS_TS="$PWD/bin/apxs-ts.js" HOSTILE="$work/node_modules/.bin/hostile" WORK="$work" RUNS
unshare -m bash -c '
  set -euo pipefail
  source bench/lib.sh
  mount --bind "$WORK/hosts-hostile" /etc/hosts
  : > "$WORK/h_add"; : > "$WORK/h_rm"; : > "$WORK/o_add"; : > "$WORK/o_rm"
  for ((i = 0; i < RUNS; i++)); do
    time_ms "$HOSTILE" set 127.0.0.1 "bench$i.dd" >> "$WORK/h_add"
    time_ms node "$APXS_TS" hosts add "bench$i.dd" --hosts-file "$WORK/hosts-ours" --backup-dir "$WORK/backups" >> "$WORK/o_add"
    time_ms "$HOSTILE" remove "bench$i.dd" >> "$WORK/h_rm"
    time_ms node "$APXS_TS" hosts remove "bench$i.dd" --hosts-file "$WORK/hosts-ours" --backup-dir "$WORK/backups" >> "$WORK/o_rm"
    rm -f "$WORK"/backups/*
  done
  grep -q bench /etc/hosts && { echo "hostile left an entry behind" >&2; exit 1; } || true
'
ha=$(median < "$work/h_add"); oa=$(median < "$work/o_add"); hr=$(median < "$work/h_rm"); or=$(median < "$work/o_rm")
echo "runs: $RUNS (alternating), $(nproc) CPUs, hosts file of $(wc -l < "$work/hosts-ours") lines ($(du -h "$work/hosts-ours" | cut -f1)), hostile $(node -p 'require(process.argv[1]).version' "$work/node_modules/hostile/package.json"), node $(node --version)"
echo "add:    hostile set: median $ha ms;  apxs-ts hosts add: median $oa ms;  ratio $(ratio "$oa" "$ha") (goal <= 0.4)"
echo "remove: hostile remove: median $hr ms;  apxs-ts hosts remove: median $or ms;  ratio $(ratio "$or" "$hr") (goal <= 0.4)"
cmp -s "$work/hosts-ours" "$work/hosts-pristine" && echo "after every add and remove, apxs-ts's file is byte-identical to the original" || echo "apxs-ts's file differs from the original"
cmp -s "$work/hosts-hostile" "$work/hosts-pristine" && echo "hostile's file is byte-identical to the original" || echo "hostile's file differs from the original ($(diff "$work/hosts-hostile" "$work/hosts-pristine" | wc -l) diff lines)"

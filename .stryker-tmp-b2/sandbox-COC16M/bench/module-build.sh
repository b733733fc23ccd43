#!/usr/bin/env bash
# apxs-ts build against apxs -c on the same C hello module, alternating runs.
# Usage: bash bench/module-build.sh [RUNS]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-15}
npm run --silent build
APXS_TS=(node "$PWD/bin/apxs-ts.js")
work=$(mktemp -d -t apxs-ts-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
"${APXS_TS[@]}" new hello --template hello >/dev/null 2>&1
"${APXS_TS[@]}" new info --template info --cpp >/dev/null 2>&1
cp -r mod_hello apxs_hello   # apxs -c works in its own copy
clean_ts() { rm -rf "$1/.apxs-ts" "$1"/*.so; }
clean_apxs() { rm -rf apxs_hello/.libs apxs_hello/*.la apxs_hello/*.lo apxs_hello/*.slo apxs_hello/*.o; }
# Warm up both (page cache, apxs-ts's one-time apxs -q cache).
(cd apxs_hello && apxs -c mod_hello.c >/dev/null 2>&1); clean_apxs
(cd mod_hello && "${APXS_TS[@]}" build >/dev/null 2>&1); clean_ts mod_hello

: > apxs.txt; : > cold.txt; : > noop.txt; : > cpp.txt
for ((i = 0; i < RUNS; i++)); do
  clean_apxs; (cd apxs_hello && time_ms apxs -c mod_hello.c) >> apxs.txt
  clean_ts mod_hello; (cd mod_hello && time_ms "${APXS_TS[@]}" build) >> cold.txt
  (cd mod_hello && time_ms "${APXS_TS[@]}" build) >> noop.txt
  clean_ts mod_info; (cd mod_info && time_ms "${APXS_TS[@]}" build) >> cpp.txt
done
a=$(median < apxs.txt); c=$(median < cold.txt); n=$(median < noop.txt); p=$(median < cpp.txt)
echo "runs: $RUNS (alternating), $(nproc) CPUs, $(apxs -q CC) $(gcc -dumpversion), node $(node --version)"
echo "apxs -c mod_hello.c (C hello, cold):      median $a ms"
echo "apxs-ts build (C hello, cold):            median $c ms   ratio $(ratio "$c" "$a") x apxs -c   (goal <= 0.5)"
echo "apxs-ts build (C hello, no-op rebuild):   median $n ms   ratio $(ratio "$n" "$a") x apxs -c   (goal <= 0.1)"
echo "apxs-ts build (C++ info, cold, g++):      median $p ms   ratio $(ratio "$p" "$a") x apxs -c of the C hello"
echo "node -e 0 (Node's own start-up, for scale): median $(for ((i = 0; i < RUNS; i++)); do time_ms node -e 0; done | median) ms"

# Helpers shared by the benchmarks: millisecond timing and medians.
now_ns() { date +%s%N; }
# time_ms CMD...: runs CMD, prints elapsed ms with 1 decimal; on failure shows CMD's output's tail
time_ms() {
  local t0 t1 out
  out=$(mktemp)
  t0=$(now_ns)
  if ! "$@" >"$out" 2>&1; then echo "FAILED: $*" >&2; tail -25 "$out" >&2; rm -f "$out"; return 1; fi
  t1=$(now_ns)
  rm -f "$out"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a / b }'; }

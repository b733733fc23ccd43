# Helpers shared by the benchmarks: millisecond timing and medians.
now_ns() { date +%s%N; }
# time_ms CMD...: runs CMD (output discarded), prints elapsed ms with 1 decimal
time_ms() {
  local t0 t1
  t0=$(now_ns); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }; t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a / b }'; }

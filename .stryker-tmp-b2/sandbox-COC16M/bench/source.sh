#!/usr/bin/env bash
# Source workflow against the plain tools, on the real release in shared/mirror:
#   download + verify: apxs-ts source download (fresh cache each run) from a
#     loopback HTTP server, against curl -o (tarball, .sha512, .asc) +
#     sha512sum -c + gpg --verify with Apache's KEYS already imported
#   extraction: apxs-ts's safe node-tar extraction against GNU tar xzf
#   make -jN against plain make for the 2.4.68 build (once each)
# Usage: bash bench/source.sh [RUNS]   (default 9; the make comparison always runs once)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-9}
npm run --silent build
REL="$(cd .. && pwd)/shared/mirror/httpd"
NAME=httpd-2.4.68.tar.gz
work=$(mktemp -d -t apxs-ts-bench-XXXXXX)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
(cd "$REL" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$work"' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.05; done
url="http://127.0.0.1:$port/"
export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$REL/KEYS" >/dev/null 2>&1 || true

repo=$PWD
ts_download() { rm -rf "$work/cache"; node "$repo/bin/apxs-ts.js" source download 2.4.68 --mirror "$url" --keys "$REL/KEYS" --cache-dir "$work/cache"; }
curl_pipeline() (
  rm -rf "$work/curl"; mkdir "$work/curl"; cd "$work/curl"
  curl -sSf -O "$url$NAME" -O "$url$NAME.sha512" -O "$url$NAME.asc"
  sha512sum -c "$NAME.sha512" && gpg --batch --quiet --verify "$NAME.asc" "$NAME"
)
ts_extract() { rm -rf "$work/x1"; node -e 'import(process.argv[1]).then((m) => m.extractTarball(process.argv[2], process.argv[3]))' "$repo/dist/lib/source/extract.js" "$REL/$NAME" "$work/x1"; }
gnu_tar() { rm -rf "$work/x2"; mkdir "$work/x2"; tar xzf "$REL/$NAME" -C "$work/x2"; }

ts_download >/dev/null 2>&1; curl_pipeline >/dev/null 2>&1   # warm-up
: > "$work/d1"; : > "$work/d2"; : > "$work/e1"; : > "$work/e2"
for ((i = 0; i < RUNS; i++)); do
  time_ms ts_download >> "$work/d1"; time_ms curl_pipeline >> "$work/d2"
  time_ms ts_extract >> "$work/e1"; time_ms gnu_tar >> "$work/e2"
done
d1=$(median < "$work/d1"); d2=$(median < "$work/d2"); e1=$(median < "$work/e1"); e2=$(median < "$work/e2")

# make -jN against make, once each, on one configured tree.
tar xzf "$REL/$NAME" -C "$work"
src="$work/httpd-2.4.68"
(cd "$src" && ./configure --prefix="$work/prefix" --enable-so >/dev/null 2>&1)
jobs=$(nproc)
mj=$(cd "$src" && time_ms make -j"$jobs")
(cd "$src" && make clean >/dev/null 2>&1)
m1=$(cd "$src" && time_ms make)

echo "runs: $RUNS (alternating), $(nproc) CPUs, $NAME ($(du -h "$REL/$NAME" | cut -f1)), node $(node --version), $(curl --version | head -1 | cut -d' ' -f1-2), $(gpg --version | head -1), $(tar --version | head -1)"
echo "download+verify: curl -O x3 + sha512sum -c + gpg --verify: median $d2 ms;  apxs-ts source download: median $d1 ms;  ratio $(ratio "$d1" "$d2") (goal <= 1.2)"
echo "extraction: tar xzf: median $e2 ms;  apxs-ts (node-tar, checked entries): median $e1 ms;  ratio $(ratio "$e1" "$e2") (goal <= 1.5)"
echo "make (once each, 2.4.68, system APR/PCRE2): make: $m1 ms;  make -j$jobs (what apxs-ts runs): $mj ms;  ratio $(ratio "$mj" "$m1")"

# One full source build per series against the manual sequence (issue #10).
bash bench/source-series.sh

#!/usr/bin/env bash
# One full `apxs-ts source build` per httpd series against the manual
# sequence with the same configure flags, once each (a build takes seconds to
# minutes; the anchor is what the notes have a user type):
#   curl -O TARBALL; tar xzf; [1.3: the same legacy fixes, by sed]; ./configure
#   (the receipt's arguments and environment); make; make install
# apxs-ts also verifies the checksum and signature and runs make -jN, which
# the manual sequence does not: both are part of what is timed.
# Releases: ../shared/archive/httpd (1.3.42, 2.0.65, 2.2.34) and
# ../shared/mirror/httpd (2.4.68), served over loopback HTTP.
# Usage: bash bench/source-series.sh [VERSION...]   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
[ -f dist/commands/index.js ] || npm run --silent build
SHARED="$(cd .. && pwd)/shared"
work=$(mktemp -d -t apxs-ts-bench-series-XXXXXX)
chmod 755 "$work"
mkdir "$work/www"; ln -s "$SHARED/archive/httpd" "$work/www/archive"; ln -s "$SHARED/mirror/httpd" "$work/www/mirror"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
(cd "$work/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$work"' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.05; done
repo=$PWD
VERSIONS=("$@"); [ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(1.3.42 2.0.65 2.2.34 2.4.68)

where() { case "$1" in 2.4.*) echo mirror;; *) echo archive;; esac; }
tarball() { case "$1" in 1.3.*) echo "apache_$1.tar.gz";; *) echo "httpd-$1.tar.gz";; esac; }
keys() { echo "$SHARED/$(where "$1")/httpd/KEYS"; }

ts_build() {
  local v=$1
  node "$repo/bin/apxs-ts.js" source build "$v" --mirror "http://127.0.0.1:$port/$(where "$v")/" --keys "$(keys "$v")" \
    --prefix "$work/ts-$v" --port 18$((RANDOM % 900 + 100)) --cache-dir "$work/cache-$v"
}

# The manual sequence, with the configure arguments and environment apxs-ts recorded in its receipt.
manual_build() (
  local v=$1 name dir
  name=$(tarball "$v"); dir=${name%.tar.gz}
  mkdir -p "$work/manual-$v"; cd "$work/manual-$v"
  curl -sSf -O "http://127.0.0.1:$port/$(where "$v")/$name"
  tar xzf "$name"; cd "$dir"
  if [[ $v == 1.3.* ]]; then
    sed -i -E 's/(^|[^A-Za-z0-9_])getline([[:space:]]*\()/\1apxs_getline\2/g' src/support/htdigest.c src/support/htpasswd.c src/support/logresolve.c
    sed -i -E '/^[ \t]*#[ \t]*define[ \t]+SYS_SIGLIST[ \t]+_sys_siglist/d' src/include/ap_config.h
    CONFIG_SHELL=bash CFLAGS='-fgnu89-inline -O2' OPTIM='-fgnu89-inline -O2' bash ./configure --prefix="$work/manual-prefix-$v" --enable-module=so
  else
    mapfile -t args < <(node -e 'const r=require(process.argv[1]);for (const a of r.configure.slice(1)) if (!a.startsWith("--prefix=")) console.log(a)' "$work/ts-$v/apxs-ts-receipt.json")
    ./configure --prefix="$work/manual-prefix-$v" "${args[@]}"
  fi
  make
  make install
)

echo "$(nproc) CPUs, node $(node --version), $(gcc --version | head -1), once each, apxs-ts first"
for v in "${VERSIONS[@]}"; do
  t1=$(time_ms ts_build "$v")
  t2=$(time_ms manual_build "$v")
  "$work/manual-prefix-$v/bin/httpd" -v >/dev/null   # the manual build really produced an httpd
  echo "$v: manual (curl -O, tar xzf,$([[ $v == 1.3.* ]] && echo ' sed fixes,') ./configure, make, make install): $t2 ms;  apxs-ts source build (verify, make -j$(nproc)): $t1 ms;  ratio $(ratio "$t1" "$t2")"
done

#!/usr/bin/env bash
# vhost check on a generated config with 5,000 name-based vhosts, against
# httpd's own parse of it (apache2 -S), alternating runs on the same files.
# Usage: bash bench/vhost-check.sh [RUNS] [VHOSTS]   (default 11, 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-11}
N=${2:-5000}
npm run --silent build
APXS_TS=(node "$PWD/bin/apxs-ts.js")
work=$(mktemp -d -t apxs-ts-bench-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
sr="$work/srv"
"${APXS_TS[@]}" sandbox create "$sr" --port 18099 --no-project >/dev/null 2>&1
mkdir -p "$work/www"
node -e '
  const fs = require("fs");
  const [sr, www, n] = [process.argv[1], process.argv[2], Number(process.argv[3])];
  const conf = [], hosts = ["127.0.0.1 localhost"];
  for (let i = 0; i < n; i++) {
    conf.push(`<VirtualHost *:18099>`, `    ServerName site${i}.dd`, `    ServerAlias www.site${i}.dd`, `    DocumentRoot "${www}"`, `</VirtualHost>`, ``);
    hosts.push(`127.0.0.1 site${i}.dd www.site${i}.dd`);
  }
  fs.writeFileSync(`${sr}/conf/many-vhosts.conf`, conf.join("\n"));
  fs.appendFileSync(`${sr}/conf/httpd.conf`, "Include conf/many-vhosts.conf\n");
  fs.writeFileSync(`${sr}/../hosts`, hosts.join("\n") + "\n");
' "$sr" "$work/www" "$N"
HTTPD=$(node -e 'console.log(require(process.argv[1]).httpd)' "$sr/apxs-ts-sandbox.json")
dump=$("$HTTPD" -d "$sr" -f conf/httpd.conf -S 2>&1)
[[ "$dump" == *"namevhost site$((N - 1)).dd"* ]] || { echo "apache2 -S did not see every vhost" >&2; exit 1; }
"${APXS_TS[@]}" vhost list --server-root "$sr" --hosts-file "$work/hosts" --json | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (r.vhosts.length !== Number(process.argv[1])) { console.error("apxs-ts saw", r.vhosts.length); process.exit(1); }' "$N"
: > "$work/s.txt"; : > "$work/c.txt"; : > "$work/cs.txt"
for ((i = 0; i < RUNS; i++)); do
  time_ms "$HTTPD" -d "$sr" -f conf/httpd.conf -S >> "$work/s.txt"
  time_ms "${APXS_TS[@]}" vhost check --no-httpd --server-root "$sr" --hosts-file "$work/hosts" >> "$work/c.txt"
  time_ms "${APXS_TS[@]}" vhost check --server-root "$sr" --hosts-file "$work/hosts" >> "$work/cs.txt"
done
s=$(median < "$work/s.txt"); c=$(median < "$work/c.txt"); cs=$(median < "$work/cs.txt")
echo "runs: $RUNS (alternating), $(nproc) CPUs, $N vhosts ($(wc -l < "$sr/conf/many-vhosts.conf") config lines), $("$HTTPD" -v | head -1 | sed 's/Server version: //'), node $(node --version)"
echo "apache2 -S:                               median $s ms"
echo "apxs-ts vhost check --no-httpd (our parse and checks): median $c ms   ratio $(ratio "$c" "$s") (goal <= 1.0)"
echo "apxs-ts vhost check (also runs apache2 -S beside it):  median $cs ms   ratio $(ratio "$cs" "$s")"

#!/usr/bin/env bash
# The main job as a demo, in a sandbox: scaffold, build and install a C hello
# module and a C++ info module into a fresh sandbox httpd on a free port,
# start it, fetch /hello and /info. Needs no root once the packages are in;
# writes only under a new temp directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
repo=$PWD
apxs_ts() { node "$repo/bin/apxs-ts.js" "$@"; }
work=$(mktemp -d -t apxs-ts-demo-XXXXXX)
chmod 755 "$work"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cd "$work"
set -x
apxs_ts sandbox create ./srv --port "$port"
apxs_ts new hello --template hello
apxs_ts new mod_info --cpp --template info
(cd mod_hello && apxs_ts build && apxs_ts install)
(cd mod_info && apxs_ts build && apxs_ts install)
apxs_ts ctl start
curl -sS "http://127.0.0.1:$port/hello"
curl -sS -H 'X-Apxs-Demo: it works' "http://127.0.0.1:$port/info"
apxs_ts ctl status
set +x
cat <<MSG

The sandbox is still running in $work/srv on port $port.
  look:  curl http://127.0.0.1:$port/info
  stop:  node $repo/bin/apxs-ts.js ctl stop --server-root $work/srv
MSG

#!/usr/bin/env bash
# Installs the Debian packages apxs-ts and its tests need, when any is missing,
# then the npm dependencies, then builds. Sourced by demo.sh and test.sh.
set -euo pipefail
PACKAGES=(apache2-bin apache2-dev g++ make curl gnupg util-linux libapr1-dev libaprutil1-dev libpcre2-dev zlib1g-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "missing packages; as root run: apt-get update && apt-get install -y ${missing[*]}" >&2; exit 1
  fi
  echo "installing ${missing[*]}" >&2
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
npm run --silent build >&2

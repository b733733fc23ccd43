#!/usr/bin/env bash
# Installs the Debian packages apxs-ts and its tests need, when any is missing,
# then the npm dependencies, then builds. Sourced by demo.sh and test.sh.
# The tests (APXS_TS_PREREQS=test, set by test.sh) also need Debian's whole
# apache2 package: its /etc/apache2 tree and a2* tools, copied and driven by the
# Debian tests; zsh and fish, whose completion scripts the tests run; libnss3-tools (certutil)
# for `tls trust` on NSS databases; ca-certificates (update-ca-certificates) for `tls trust` on a
# scratch copy of the system store; libssl-dev for `source build --with-ssl` (the e2e test of a
# source-built 2.4 serving TLS); publicsuffix (the Public Suffix List `tls ca --permit` refuses
# public suffixes by; a short built-in list without it); gdb and valgrind (#21: crash backtraces
# from cores, `apxs-ts debug` under gdb and valgrind); ansible-core (#23: the e2e test runs Debian's
# ansible-playbook 2.14 against the modules in ansible/); mold (#21: the linker `dev` prefers for its debug
# builds, so the dev tests and bench/dev-loop-restart.sh link as a developer with mold would). The demo
# needs only the httpd binary and apxs.
set -euo pipefail
PACKAGES=(apache2-bin apache2-dev g++ make curl gnupg util-linux libapr1-dev libaprutil1-dev libpcre2-dev zlib1g-dev)
if [ "${APXS_TS_PREREQS:-}" = test ]; then PACKAGES+=(apache2 zsh fish libnss3-tools ca-certificates libssl-dev publicsuffix gdb valgrind ansible-core mold); fi
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
  # apache2's postinst calls invoke-rc.d: a policy-rc.d that exits 101 forbids it to start a server on port 80.
  # Made (and removed) here only when the machine has none of its own.
  policy_made=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# apxs-ts prereqs.sh: no service starts during this install\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    policy_made=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || status=$?
  if [ -n "$policy_made" ]; then "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d; fi
  if [ "$status" != 0 ]; then exit "$status"; fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
npm run --silent build >&2

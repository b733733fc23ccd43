#!/usr/bin/env bash
# Issuing a leaf certificate (a new P-256 key + a certificate for one.test
# and www.one.test signed by the local CA), alternating, median:
#   openssl:  `openssl req -newkey ec ... -nodes` then `openssl x509 -req -CA ...`
#             (the two-command pipeline a shell-out tool such as Valet runs per site)
#   apxs-ts:  issueLeaf() in process (lib/tls/leaf.ts: webcrypto + @peculiar/x509),
#             the CA key imported once per run as `vhost add --tls` does
# Both are timed by the same Node process and clock; the openssl pair by
# spawnSync of the two commands. The one-off cost of loading @peculiar/x509
# (paid once by a run that issues, none by any other) is printed too.
# Usage: bash bench/tls.sh [RUNS]   (default 31)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-31}
npm run --silent build
work=$(mktemp -d -t apxs-ts-bench-tls-XXXXXX)
trap 'rm -rf "$work"' EXIT
node - "$work" "$RUNS" <<'JS'
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const [work, runsArg] = process.argv.slice(2);
const runs = Number(runsArg);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
(async () => {
  let t0 = process.hrtime.bigint();
  const { ensureCa, caSigningKey } = require(path.resolve('dist/lib/tls/ca.js'));
  const { issueLeaf } = require(path.resolve('dist/lib/tls/leaf.js'));
  const { ca } = await ensureCa(path.join(work, 'ca'));
  const key = await caSigningKey(ca); // loads @peculiar/x509 and reflect-metadata
  const loadMs = ms(t0);
  const ext = path.join(work, 'ext.cnf');
  fs.writeFileSync(ext, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:one.test,DNS:www.one.test\n');
  const opensslOnce = (i) => {
    const k = path.join(work, `o${i}.key`), csr = path.join(work, `o${i}.csr`), crt = path.join(work, `o${i}.pem`);
    const a = spawnSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', k, '-subj', '/CN=one.test', '-out', csr], { stdio: 'ignore' });
    const b = spawnSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${(1e9 + i).toString(16)}`, '-days', '396', '-sha256', '-extfile', ext, '-out', crt], { stdio: 'ignore' });
    if (a.status !== 0 || b.status !== 0) throw new Error('openssl failed');
    return crt;
  };
  // Warm-up, and a check that both produce a leaf the CA verifies.
  const warm = opensslOnce(0);
  const v = spawnSync('openssl', ['verify', '-CAfile', ca.certFile, warm], { encoding: 'utf8' });
  if (!v.stdout.includes('OK')) throw new Error(`openssl's leaf does not verify: ${v.stdout}${v.stderr}`);
  const mine = await issueLeaf(ca, ['one.test', 'www.one.test'], new Date(), key);
  fs.writeFileSync(path.join(work, 'mine.pem'), mine.certPem);
  const v2 = spawnSync('openssl', ['verify', '-CAfile', ca.certFile, path.join(work, 'mine.pem')], { encoding: 'utf8' });
  if (!v2.stdout.includes('OK')) throw new Error(`apxs-ts's leaf does not verify: ${v2.stdout}${v2.stderr}`);
  const o = [], t = [];
  for (let i = 1; i <= runs; i++) {
    t0 = process.hrtime.bigint(); opensslOnce(i); o.push(ms(t0));
    t0 = process.hrtime.bigint(); await issueLeaf(ca, ['one.test', 'www.one.test'], new Date(), key); t.push(ms(t0));
  }
  const mo = median(o), mt = median(t);
  const ver = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`runs: ${runs} (alternating), ${require('node:os').availableParallelism()} CPUs, ${ver}, node ${process.version}`);
  console.log(`openssl req -newkey ec + openssl x509 -req -CA: median ${mo.toFixed(2)} ms`);
  console.log(`apxs-ts issueLeaf (in process):                median ${mt.toFixed(2)} ms   ratio ${(mt / mo).toFixed(3)} x openssl   (goal <= 0.5)`);
  console.log(`one-off per issuing run: load @peculiar/x509 + make/read the CA + import its key: ${loadMs.toFixed(1)} ms`);
})().catch((e) => { console.error(e); process.exit(1); });
JS

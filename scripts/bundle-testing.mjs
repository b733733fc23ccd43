// dist/apxs-ts-testing.cjs: the `apxs-ts/testing` library (lib/testing/index.ts) as
// one file. A separate entry from the CLI's bundle (scripts/bundle.mjs), so
// neither changes the other; package.json "exports" maps "apxs-ts/testing"
// to it. No declaration file yet (tsc's build emits none; making one took
// ~7 s, too much for every build). Runs after tsc in
// `npm run build`. Written to temp files and renamed, like the CLI's bundle.
import { build } from 'esbuild';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.join(root, 'dist', 'apxs-ts-testing.cjs');
const tmp = `${out}.${process.pid}.tmp`;
try {
  await build({
    absWorkingDir: root,
    entryPoints: ['lib/testing/index.ts'],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: Object.keys(pkg.dependencies ?? {}),
    legalComments: 'eof',
    logLevel: 'warning',
  });
  renameSync(tmp, out);
} finally {
  rmSync(tmp, { force: true });
}

// dist/apxs-ts.cjs (or the file given as the one argument): the CLI as one file, what the package
// ships and bin/apxs-ts.js loads. esbuild from the TypeScript sources; the second half of
// `npm run build`. commander is inside; the other runtime dependencies stay in node_modules.
// Written to a temp file and renamed: a CLI started meanwhile (other tests) sees the old
// bundle or the new one, never half of one.
import { build } from 'esbuild';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'apxs-ts.cjs'));
const tmp = `${out}.${process.pid}.tmp`;
try {
  await build({
    absWorkingDir: root,
    entryPoints: ['commands/index.ts'],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20', // engines: the oldest Node it runs on
    external: Object.keys(pkg.dependencies ?? {}).filter((d) => d !== 'commander'),
    // Whitespace and syntax only: names stay readable in --verbose stacks.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  renameSync(tmp, out);
} finally {
  rmSync(tmp, { force: true });
}

// @ts-nocheck
// dist/apxs-ts.cjs (or the file given as the one argument): the CLI as one file (what the package ships and
// bin/apxs-ts.js loads), made by esbuild from the TypeScript sources after
// `tsc` has built dist/. Runs as the second half of `npm run build`.
//
// - Each command stays lazy: its module body runs only when it is named.
// - commander is inside; the other runtime dependencies (openpgp, tar, ora,
//   undici, execa) stay in node_modules and load only where they are used.
// - The top-level `--help` table is written in (APXS_TS_TOP_LEVEL) from the
//   real command tree, taken from the tsc build just made, so `--help`
//   constructs no command.
// - Node's heavier built-in modules (child_process, http, https, crypto, ...)
//   are loaded on first use, not when a module that imports them is
//   initialised: commander alone would load child_process (and net, dgram,
//   stream) for `--version`, and `ctl status` would load tls for an http
//   probe. Each is a proxy with the module's export names, taken here.
// - Written to a temp file and renamed: a CLI started meanwhile (other tests)
//   sees the old bundle or the new one, never half of one.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const { topLevelCommands } = require(path.join(root, 'dist', 'commands', 'index.js'));

/** Built-ins loaded on first use; node itself has loaded the others (fs, path, events, ...) before any code runs. */
const LAZY = ['child_process', 'crypto', 'dgram', 'dns', 'http', 'https', 'net', 'os', 'perf_hooks', 'readline', 'stream', 'stream/promises',
  'string_decoder', 'tls', 'tty', 'worker_threads', 'zlib', 'fs/promises', 'timers/promises', 'v8', 'vm'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY.map((m) => m.replace('/', '\\/')).join('|')})$`);
    b.onResolve({ filter }, (args) => (args.namespace === 'lazy-builtin'
      ? { path: args.path, external: true }
      : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const keys = Object.keys(require(`node:${args.path}`));
      return {
        loader: 'js',
        contents: `let m;
const load = () => (m ??= require(${JSON.stringify(`node:${args.path}`)}));
const keys = ${JSON.stringify(keys)};
module.exports = new Proxy({}, {
  get: (_, k) => (k === '__esModule' ? undefined : load()[k]),
  set: (_, k, v) => ((load()[k] = v), true),
  has: (_, k) => keys.includes(k) || k in load(),
  ownKeys: () => keys,
  getOwnPropertyDescriptor: (_, k) => (keys.includes(k) ? { configurable: true, enumerable: true, get: () => load()[k] } : undefined),
});
`,
      };
    });
  },
};

const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'apxs-ts.cjs'));
const tmp = `${out}.${process.pid}.tmp`;
try {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['commands/index.ts'],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20', // engines: the oldest Node it runs on
    external: Object.keys(pkg.dependencies ?? {}).filter((d) => d !== 'commander'),
    define: { APXS_TS_TOP_LEVEL: JSON.stringify(topLevelCommands()) },
    // Whitespace and syntax only: names stay readable in --verbose stacks
    // (minifying them too measured no faster here).
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    plugins: [lazyBuiltins],
    logLevel: 'warning',
    write: false,
  });
  // bin/apxs-ts.js compiles the bundle as a vm.Script (for V8's code cache),
  // where import() would need an experimental loader option: the dynamic
  // imports of dependencies (ora, openpgp, tar, undici, execa) go through the
  // launcher's own import(), passed in as __apxsImport, when there is one.
  const text = result.outputFiles[0].text.replace(/\bimport\(("[^"]+")\)/g, '(typeof __apxsImport=="function"?__apxsImport:(s=>import(s)))($1)');
  // bin/apxs-ts.js reads the bundle as latin1: esbuild escapes non-ASCII in
  // code (its default charset), and a byte beyond ASCII would be garbled.
  const at = text.search(/[^\x00-\x7f]/);
  if (at >= 0) throw new Error(`bundle has a non-ASCII character at offset ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(tmp, text);
  renameSync(tmp, out);
} finally {
  rmSync(tmp, { force: true });
}

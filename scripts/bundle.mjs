// dist/apxs-ts.cjs and its parts dist/apxs-ts.*.cjs (or beside the file given as the one argument):
// the CLI as the package ships it and bin/apxs-ts.js loads it. esbuild from the TypeScript
// sources; the second half of `npm run build`. commander is inside; the other runtime
// dependencies stay in node_modules.
//
// Split where the code splits itself: commands/index.ts and the command tree are the front
// (dist/apxs-ts.cjs); every commands/ module reached through a `require()` call (a command's body,
// loaded when its action runs) is its own part, so a run compiles the front and one body, not the
// whole CLI. A module that the front and a body both use is a part of its own that both require:
// one copy, so its state (the output mode, the chosen server root, the lock settings) and its
// classes (`instanceof ApxsError`) are the same on both sides. Other library code is copied into
// each body that uses it.
//
// Each file is written to a temp file and renamed, the parts before the front: a CLI started
// meanwhile (other tests) never sees half of a file.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const front = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'apxs-ts.cjs'));
const outDir = path.dirname(front);
const stem = path.basename(front, '.cjs');

/** The file a part is written to: commands/ctl.ts -> apxs-ts.commands-ctl.cjs (beside the front). */
const partFile = (source) => `${stem}.${source.replace(/\.ts$/, '').replaceAll('/', '-')}.cjs`;

/**
 * One esbuild run over `entries` (source paths relative to the root). An import of a module in
 * `parts` (other than the entry itself) becomes a require of that part's file; a `require()` of a
 * commands/ module is recorded in `bodies` (and also left to its part once it is one).
 */
async function bundle(entries, parts, bodies) {
  const split = {
    name: 'apxs-ts-parts',
    setup(b) {
      // A package (commander) that the front and a body share: one copy too.
      b.onResolve({ filter: /^[^./]/ }, (args) =>
        args.kind !== 'entry-point' && parts.has(args.path)
          ? { path: `./${partFile(args.path)}`, external: true }
          : undefined,
      );
      b.onResolve({ filter: /^\./ }, async (args) => {
        if (args.pluginData === 'inner' || args.kind === 'entry-point') return undefined;
        const r = await b.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'inner',
        });
        if (r.errors.length > 0) return undefined;
        const source = path.relative(root, r.path);
        if (args.kind === 'require-call' && source.startsWith('commands/')) bodies.add(source);
        return parts.has(source) ? { path: `./${partFile(source)}`, external: true } : undefined;
      });
    },
  };
  const result = await build({
    absWorkingDir: root,
    entryPoints: entries.map((entry, i) => ({ in: entry, out: `entry-${i}` })),
    outdir: outDir,
    write: false,
    metafile: true,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20', // engines: the oldest Node it runs on
    external: Object.keys(pkg.dependencies ?? {}).filter((d) => d !== 'commander'),
    plugins: [split],
    // Whitespace and syntax only: names stay readable in --verbose stacks.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  /** Each entry's output text and the source modules it holds. */
  return entries.map((entry, i) => {
    const file = path.join(outDir, `entry-${i}.js`);
    const meta = result.metafile.outputs[path.relative(root, file)];
    const text = result.outputFiles.find((f) => f.path === file).text;
    return { entry, text, modules: Object.keys(meta.inputs) };
  });
}

// First the front and the bodies it reaches (a body may require another: `ctl` -> `crashes`),
// each bundled whole, to see which modules the front and a body share.
const bodies = new Set();
let outputs = [];
for (let seen = -1; seen !== bodies.size; ) {
  seen = bodies.size;
  outputs = await bundle(['commands/index.ts', ...bodies], new Set(bodies), bodies);
}
const inFront = new Set(outputs[0].modules);
/** A module's part: its source path, or for a dependency (commander) the package's name. */
const partOf = (m) => m.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1] ?? m;
const shared = outputs
  .slice(1)
  .flatMap((o) => o.modules)
  .filter((m) => inFront.has(m))
  .map(partOf);
// Then every file once more, each shared module and body as a part of its own.
const parts = new Set([...bodies, ...shared]);
const [frontOut, ...partOuts] = await bundle(['commands/index.ts', ...parts], parts, new Set());

mkdirSync(outDir, { recursive: true });
const written = new Set();
const write = (file, text) => {
  const out = path.join(outDir, file);
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, out);
    written.add(file);
  } finally {
    rmSync(tmp, { force: true });
  }
};
for (const p of partOuts) write(partFile(p.entry), p.text);
write(path.basename(front), frontOut.text);
// Parts of an earlier build that this one no longer has (a command removed or renamed).
for (const f of readdirSync(outDir)) {
  if (f.startsWith(`${stem}.`) && f.endsWith('.cjs') && !written.has(f))
    rmSync(path.join(outDir, f));
}

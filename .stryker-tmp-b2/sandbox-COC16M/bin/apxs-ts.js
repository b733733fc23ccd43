#!/usr/bin/env node
// @ts-nocheck
// Thin launcher. The package ships the CLI as one bundled file,
// dist/apxs-ts.cjs (scripts/bundle.mjs); a working copy also has tsc's
// dist/commands/index.js, used when it is newer than the bundle (someone ran
// `npx tsc` after `npm run build`) or when there is no bundle.
//
// The bundle is compiled with V8's code cache, kept in the user's cache
// directory (Node 20 has no module compile cache): parsing the bundle is the
// largest part of start-up after Node's own. A cache V8 rejects (another
// Node, another bundle) is rewritten; one that cannot be read or written
// only costs the parse.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function entry() {
  const dist = path.join(__dirname, '..', 'dist');
  const bundle = path.join(dist, 'apxs-ts.cjs');
  const tsc = path.join(dist, 'commands', 'index.js');
  const b = fs.statSync(bundle, { throwIfNoEntry: false });
  if (!b) return { file: tsc };
  const t = fs.statSync(tsc, { throwIfNoEntry: false });
  return !t || b.mtimeMs >= t.mtimeMs ? { file: bundle, stat: b } : { file: tsc };
}

function hash(text) {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16);
}

// Commands with subcommands: their caches are kept per subcommand, since
// `ctl status` compiles other functions than `ctl start` (0.6 ms of status
// with start's cache). test/e2e/output-modes.test.ts checks this list
// against the command tree.
const GROUPS = new Set(['ctl', 'hosts', 'makefile', 'sandbox', 'source', 'vhost']);

function cacheFileFor(file, st) {
  const home = process.env.XDG_CACHE_HOME || (process.env.HOME && path.join(process.env.HOME, '.cache'));
  if (!home || process.env.APXS_TS_NO_CODE_CACHE) return undefined;
  // One cache per install (the bundle's path), per bundle (size, mtime) and
  // Node, and per command (subcommand in a group): each holds the functions
  // its command compiled, written after its first run.
  const build = hash(`${st.size}\0${st.mtimeMs}\0${process.version}\0${process.arch}`);
  const [first = '', second = ''] = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const word = (w) => /^[a-z][a-z-]{0,20}$/.test(w);
  const command = !word(first) ? '_' : GROUPS.has(first) && word(second) ? `${first}-${second}` : first;
  return path.join(home, 'apxs-ts', `code-cache-${hash(file)}-${build}-${command}.v8`);
}

/** The caches of this install's earlier bundles (or Node versions), and those named before installs were told apart: no run reads them again. */
function removeOlderCaches(cacheFile) {
  const [, install, build] = /code-cache-([0-9a-f]+)-([0-9a-f]+)-/.exec(path.basename(cacheFile)) ?? [];
  for (const f of fs.readdirSync(path.dirname(cacheFile))) {
    const m = /^code-cache-([0-9a-f]+)-([0-9a-f]+)-[a-z_-]+\.v8$/.exec(f);
    const stale = m ? m[1] === install && m[2] !== build : /^code-cache-[0-9a-f]+(-[a-z_-]+)?\.v8$/.test(f);
    if (stale) fs.rmSync(path.join(path.dirname(cacheFile), f), { force: true });
  }
}

function loadBundle(file, st) {
  const vm = require('node:vm');
  const Module = require('node:module');
  const cacheFile = cacheFileFor(file, st);
  let cachedData;
  try {
    if (cacheFile) cachedData = fs.readFileSync(cacheFile);
  } catch { /* none yet */ }
  // The bundle's import() of dependencies comes here (a vm.Script has no loader of its own).
  // latin1: the bundle is ASCII (scripts/bundle.mjs refuses any other byte),
  // and a latin1 read is a copy where utf8 is a validating decode (~0.3 ms).
  const wrapped = `(function (exports, require, module, __filename, __dirname, __apxsImport) {${fs.readFileSync(file, 'latin1')}\n})`;
  const script = new vm.Script(wrapped, { filename: file, cachedData });
  if (cacheFile && (!cachedData || script.cachedDataRejected)) {
    // After the run, so the functions it compiled are in the cache too.
    process.once('exit', () => {
      try {
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
        removeOlderCaches(cacheFile);
      } catch { /* read-only or full: the next run parses again */ }
    });
  }
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file), (specifier) => import(specifier));
  return mod.exports;
}

const e = entry();
const { main } = e.stat ? loadBundle(e.file, e.stat) : require(e.file);

// What commands print goes out through commands/output.ts (fs.writeSync), which
// also treats a reader that went away (`apxs-ts --help | head`) as no error
// of ours. process.stdout is not touched here: building it costs ~1.8 ms.
main(process.argv).then((code) => {
  process.exitCode = code;
});

#!/usr/bin/env node
// The CLI is one bundle, dist/apxs-ts.cjs (scripts/bundle.mjs, made by `npm run build` and
// shipped in the package); a working copy that has only tsc's output runs that instead.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'apxs-ts.cjs');
const entry = fs.existsSync(bundle) ? bundle : path.join(dist, 'commands', 'index.js');
if (!fs.existsSync(entry)) {
  // A working copy never built (or a broken install): one line, not a module-loader stack trace.
  process.stderr.write(
    `apxs-ts: error: no build in ${dist} (run \`npm run build\`, or reinstall apxs-ts)\n`,
  );
  process.exit(1);
}
require(entry)
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });

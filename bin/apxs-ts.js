#!/usr/bin/env node
// Thin launcher: everything lives in the compiled commands/index.js.
'use strict';
const { main } = require('../dist/commands/index.js');

// A reader that went away (`apxs-ts --help | head`) is not an error of ours.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv).then((code) => {
  process.exitCode = code;
});

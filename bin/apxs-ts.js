#!/usr/bin/env node
// Thin launcher: everything lives in the compiled commands/index.js.
'use strict';
const { main } = require('../dist/commands/index.js');

main(process.argv).then((code) => {
  process.exitCode = code;
});

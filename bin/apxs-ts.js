#!/usr/bin/env node
// Thin launcher: everything lives in the compiled commands/index.js.
import { main } from '../dist/commands/index.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});

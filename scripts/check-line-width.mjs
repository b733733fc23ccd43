// Fails when a line of lib/ or commands/ is longer than 100 columns (issue #19). Biome formats
// code to that width but leaves comments and string literals as they are written: a long comment
// is rewrapped, a long message split into concatenated pieces. The lines below are the exceptions,
// each with its reason; a line holding a URL that alone makes it long is allowed too.
//   node scripts/check-line-width.mjs [DIR or FILE...]   (default: lib commands)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WIDTH = 100;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** [file, a piece of the line, why it stays long]. */
const ALLOWED = [
  // The completion scripts are shell text inside template literals: a line split there would
  // change the script apxs-ts prints.
  ['lib/core/completion.ts', '# $1 kind (none files dirs', 'shell script text'],
  ['lib/core/completion.ts', 'COMPREPLY=($(compgen -W "$("$4" completion', 'shell script text'],
  ['lib/core/completion.ts', 'elif (( n == 0 )) && subs=$(${fn}_subs', 'shell script text'],
  ['lib/core/completion.ts', 'if [[ -n $valuekind ]]; then', 'shell script text'],
  ['lib/core/completion.ts', 'if [[ $cur == -* ]]; then COMPREPLY=', 'shell script text'],
  ['lib/core/completion.ts', '# $argv: kind (none files dirs', 'shell script text'],
  ['lib/core/completion.ts', 'else if test $n -eq 0; and contains', 'shell script text'],
  // A regular expression reads as one pattern; cut into strings for new RegExp() it reads worse.
  ['lib/ctl/crashes.ts', String.raw`/^\s*#\d+ (0x[0-9a-f]+) (?:in (\S+)`, 'one regular expression'],
  ['lib/source/phase.ts', String.raw`/(^|\s)(error:|configure: error:|`, 'one regular expression'],
  ['lib/dev/debug.ts', '/uninitialised|Invalid (read|write|free)|', 'one regular expression'],
  ['lib/httpd/sandbox-removal.ts', String.raw`/^<!DOCTYPE html>\n<html>`, 'one regular expression'],
  [
    'lib/module/registrations.ts',
    String.raw`\bchar\b[\w\s*]*?\b([A-Za-z_]`,
    'one regular expression',
  ],
];

const columns = (line) => [...line].length;
/** A line that is long only because of a URL in it. */
const longForUrl = (line) => columns(line.replace(/\b\w+:\/\/\S+/g, 'URL')) <= WIDTH;

function* tsFiles(dir) {
  if (dir.endsWith('.ts')) {
    yield dir;
    return;
  }
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

const dirs = process.argv.slice(2);
const long = [];
for (const dir of dirs.length ? dirs : ['lib', 'commands']) {
  for (const file of tsFiles(path.resolve(root, dir))) {
    const rel = path.relative(root, file);
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (columns(line) <= WIDTH || longForUrl(line)) return;
        if (ALLOWED.some(([f, piece]) => f === rel && line.includes(piece))) return;
        long.push(`${rel}:${i + 1}: ${columns(line)} columns`);
      });
  }
}
if (long.length) {
  console.error(long.join('\n'));
  console.error(
    `${long.length} line(s) over ${WIDTH} columns: rewrap the comments, ` +
      'split long strings into concatenated pieces',
  );
  process.exit(1);
}

// Per-file mutation scores and the surviving mutants, from Stryker's JSON report(s).
// Score = (killed + timeout) / (killed + timeout + survived + no coverage), Stryker's "mutation score".
//
// A survivor is "explained" when test/mutation-equivalent.json names it with the reason it is
// equivalent. Names do not use line numbers (they went stale with every edit above them): a name is
//   FILE MUTATOR `CODE` => REPLACEMENT
// where CODE is the mutated code itself (whitespace collapsed, first 60 characters) and, when that
// code alone is not unique in the file, `CODE` is preceded by the trimmed source line, as
//   FILE MUTATOR [LINE] `CODE` => REPLACEMENT
// The summary prints each survivor with the name to use. A name that matches several survivors
// (the same code mutated the same way in several places) explains all of them: write the line
// form when they need different reasons. Names in the list that match no survivor are printed as
// STALE (killed by a test since, or the code changed): delete or rename them.
//
//   node scripts/mutation-summary.mjs [--check] [report.json ...]
//   --check: exit 1 when a file is below 80% or a survivor is unexplained.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const check = args.includes('--check');
const given = args.filter((a) => a !== '--check');
const reports = given.length ? given : ['reports/mutation/mutation.json'];
const reasonsFile = new URL('../test/mutation-equivalent.json', import.meta.url);
const reasons = existsSync(reasonsFile) ? JSON.parse(readFileSync(reasonsFile, 'utf8')) : {};
const files = new Map();
for (const r of reports)
  for (const [file, data] of Object.entries(JSON.parse(readFileSync(r, 'utf8')).files))
    files.set(file, data);

const squash = (s, n) =>
  String(s ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, n);
/** The source text a mutant replaces (Stryker's lines and columns are 1-based). */
function original(lines, m) {
  const { start, end } = m.location;
  if (start.line === end.line)
    return lines[start.line - 1]?.slice(start.column - 1, end.column - 1) ?? '';
  const parts = [
    lines[start.line - 1]?.slice(start.column - 1) ?? '',
    ...lines.slice(start.line, end.line - 1),
    lines[end.line - 1]?.slice(0, end.column - 1) ?? '',
  ];
  return parts.join('\n');
}
/** The code and its replacement, each cut to 60 characters around where they differ (`<= 1` and `< 1` stay apart). */
function pair(code, replacement) {
  const a = squash(code, 2000);
  const b = squash(replacement, 2000);
  if (a.length <= 60 && b.length <= 60) return [a, b];
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  p = Math.max(0, p - 20);
  s = Math.max(0, s - 20);
  const cut = (x) => `${p ? '…' : ''}${x.slice(p, x.length - s).slice(0, 60)}${s ? '…' : ''}`;
  return [cut(a), cut(b)];
}
const shortName = (file, m, code) => {
  const [a, b] = pair(code, m.replacement);
  return `${file} ${m.mutatorName} \`${a}\` => ${b}`;
};
const lineName = (file, m, code, line) => {
  const [a, b] = pair(code, m.replacement);
  return `${file} ${m.mutatorName} [${squash(line, 100)}] \`${a}\` => ${b}`;
};

const rows = [];
const tot = { detected: 0, valid: 0, explained: 0 };
const survivors = [];
const used = new Set();
for (const [file, { mutants, source }] of [...files].sort()) {
  const lines = source.split('\n');
  let detected = 0;
  let valid = 0;
  let explained = 0;
  for (const m of mutants) {
    if (m.status === 'CompileError' || m.status === 'RuntimeError' || m.status === 'Ignored')
      continue;
    valid++;
    if (m.status === 'Killed' || m.status === 'Timeout') {
      detected++;
      continue;
    }
    const code = original(lines, m);
    const line = lines[m.location.start.line - 1] ?? '';
    const names = [lineName(file, m, code, line), shortName(file, m, code)];
    const name = names.find((n) => n in reasons);
    if (name) {
      explained++;
      used.add(name);
    }
    const why = name ? `equivalent: ${reasons[name]}` : 'UNEXPLAINED';
    survivors.push(
      `${file}:${m.location.start.line}:${m.location.start.column} [${m.status}]\n      ${name ?? names[0]}\n      line: ${squash(line, 110)}\n      ${why}`,
    );
  }
  rows.push([file, detected, valid, explained]);
  tot.detected += detected;
  tot.valid += valid;
  tot.explained += explained;
}
const pct = (d, v) => (v ? ((100 * d) / v).toFixed(1) : '-');
console.log(
  '| file | killed (incl. timeout) | mutants | score | survivors named equivalent |\n| --- | --- | --- | --- | --- |',
);
for (const [f, d, v, e] of rows)
  console.log(`| ${f} | ${d} | ${v} | ${pct(d, v)}% | ${e} of ${v - d} |`);
console.log(
  `| **total** | ${tot.detected} | ${tot.valid} | ${pct(tot.detected, tot.valid)}% | ${tot.explained} of ${tot.valid - tot.detected} |`,
);
console.log(`\nsurvivors (${survivors.length}, ${survivors.length - tot.explained} unexplained):`);
for (const s of survivors) console.log(`  ${s}`);
const scored = new Set(files.keys());
const stale = Object.keys(reasons).filter((k) => !used.has(k) && scored.has(k.split(' ')[0]));
if (stale.length)
  console.log(
    `\nSTALE names in test/mutation-equivalent.json for the files of this report (${stale.length}):\n${stale.map((k) => `  ${k}`).join('\n')}`,
  );
if (
  check &&
  (rows.some(([, d, v]) => v && d / v < 0.8) || tot.explained < tot.valid - tot.detected)
)
  process.exit(1);

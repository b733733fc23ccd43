// Per-file mutation scores and the surviving mutants, from Stryker's JSON report(s).
// Score = (killed + timeout) / (killed + timeout + survived + no coverage), Stryker's "mutation score".
// A survivor listed in test/mutation-equivalent.json (by "file:line:column mutator => replacement")
// is printed with the reason it is equivalent; any other is printed as UNEXPLAINED.
//
//   node scripts/mutation-summary.mjs [report.json ...]
import { existsSync, readFileSync } from 'node:fs';

const reports = process.argv.slice(2).length ? process.argv.slice(2) : ['reports/mutation/mutation.json'];
const reasonsFile = new URL('../test/mutation-equivalent.json', import.meta.url);
const reasons = existsSync(reasonsFile) ? JSON.parse(readFileSync(reasonsFile, 'utf8')) : {};
const files = new Map();
for (const r of reports) for (const [file, data] of Object.entries(JSON.parse(readFileSync(r, 'utf8')).files)) files.set(file, data);

const keyOf = (file, m) => `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} => ${String(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80)}`;
const rows = [];
const tot = { detected: 0, valid: 0, explained: 0 };
const survivors = [];
for (const [file, { mutants, source }] of [...files].sort()) {
  const lines = source.split('\n');
  let detected = 0;
  let valid = 0;
  let explained = 0;
  for (const m of mutants) {
    if (m.status === 'CompileError' || m.status === 'RuntimeError' || m.status === 'Ignored') continue;
    valid++;
    if (m.status === 'Killed' || m.status === 'Timeout') { detected++; continue; }
    const key = keyOf(file, m);
    const why = reasons[key];
    if (why) explained++;
    survivors.push(`${key}  [${m.status}]\n      ${(lines[m.location.start.line - 1] ?? '').trim().slice(0, 110)}\n      ${why ? `equivalent: ${why}` : 'UNEXPLAINED'}`);
  }
  rows.push([file, detected, valid, explained]);
  tot.detected += detected;
  tot.valid += valid;
  tot.explained += explained;
}
const pct = (d, v) => (v ? ((100 * d) / v).toFixed(1) : '-');
console.log('| file | killed (incl. timeout) | mutants | score | survivors named equivalent |\n| --- | --- | --- | --- | --- |');
for (const [f, d, v, e] of rows) console.log(`| ${f} | ${d} | ${v} | ${pct(d, v)}% | ${e} of ${v - d} |`);
console.log(`| **total** | ${tot.detected} | ${tot.valid} | ${pct(tot.detected, tot.valid)}% | ${tot.explained} of ${tot.valid - tot.detected} |`);
console.log(`\nsurvivors (${survivors.length}, ${survivors.length - tot.explained} unexplained):`);
for (const s of survivors) console.log(`  ${s}`);

// @ts-nocheck
// Per-file mutation scores and the surviving mutants, from Stryker's JSON report.
// Score = (killed + timeout) / (all - compile errors - ignored), Stryker's "mutation score".
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'reports/mutation/mutation.json', 'utf8'));
const rows = [];
let tot = { detected: 0, valid: 0 };
const survivors = [];
for (const [file, { mutants, source }] of Object.entries(report.files)) {
  const lines = source.split('\n');
  let detected = 0;
  let valid = 0;
  for (const m of mutants) {
    if (m.status === 'CompileError' || m.status === 'RuntimeError' || m.status === 'Ignored') continue;
    valid++;
    if (m.status === 'Killed' || m.status === 'Timeout') detected++;
    else survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}: ${(lines[m.location.start.line - 1] ?? '').trim().slice(0, 100)}${m.replacement !== undefined ? `  =>  ${String(m.replacement).replace(/\s+/g, ' ').slice(0, 80)}` : ''}`);
  }
  rows.push([file, detected, valid]);
  tot.detected += detected;
  tot.valid += valid;
}
const pct = (d, v) => (v ? ((100 * d) / v).toFixed(1) : '-');
console.log('| file | killed (incl. timeout) | mutants | score |\n| --- | --- | --- | --- |');
for (const [f, d, v] of rows.sort()) console.log(`| ${f} | ${d} | ${v} | ${pct(d, v)}% |`);
console.log(`| **total** | ${tot.detected} | ${tot.valid} | ${pct(tot.detected, tot.valid)}% |`);
console.log(`\nsurvivors (${survivors.length}):`);
for (const s of survivors) console.log(`  ${s}`);

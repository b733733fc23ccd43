/**
 * How a test run is told: human lines (stderr), a case × target table when
 * there are several targets, and JUnit XML for CI systems.
 */
import type { CaseResult, TestReport } from './run.js';

const reqLine = (r: CaseResult) => {
  const q = r.request;
  const h = Object.entries(q.headers).map(([k, v]) => `${k}: ${v}`);
  return [
    `${q.method} ${q.path}${q.host ? ` (Host: ${q.host})` : ''}`,
    ...h.map((x) => `  ${x}`),
    ...(q.body !== undefined ? [`  body: ${JSON.stringify(q.body)}`] : []),
  ];
};

export const caseTitle = (r: CaseResult) =>
  `${r.file} › ${r.name}${r.iteration > 1 ? ` #${r.iteration}` : ''}`;

/**
 * The lines for one failed case: its request, each failure (expected vs actual, a diff for bodies),
 * the error log during it.
 */
export function failureLines(r: CaseResult): string[] {
  const out = [
    `FAIL ${caseTitle(r)} [${r.target}] (${r.where})`,
    '  request:',
    ...reqLine(r).map((l) => `    ${l}`),
  ];
  if (r.response)
    out.push(
      '  response: ' +
        `${r.response.status ?? '(none)'}${r.response.error ? ` (${r.response.error})` : ''}`,
    );
  for (const f of r.failures) {
    out.push(
      `  ${f.what}:`,
      ...f.expected.split('\n').map((l, i) => `    ${i ? '         ' : 'expected '}${l}`),
      ...f.actual.split('\n').map((l, i) => `    ${i ? '         ' : 'actual   '}${l}`),
    );
    if (f.diff) out.push('    diff (- expected, + actual):', ...f.diff.map((l) => `      ${l}`));
  }
  out.push(
    r.log.length
      ? `  error log during the case (${r.log.length} line${r.log.length === 1 ? '' : 's'}):`
      : '  error log during the case: (nothing written)',
    ...r.log.slice(-30).map((l) => `    ${l}`),
  );
  if (r.root) out.push(`  server root kept: ${r.root}`);
  return out;
}

/** A case × target table (only worth printing for two or more targets). */
export function seriesTable(rep: TestReport): string[] {
  const targets = rep.targets.map((t) => t.label);
  const rows = new Map<string, Map<string, string>>();
  for (const c of rep.cases) {
    const k = `${c.file} › ${c.name}`;
    const row = rows.get(k) ?? new Map<string, string>();
    // A case repeated is a pass only when every repetition passed.
    if (row.get(c.target) !== 'FAIL') row.set(c.target, c.ok ? 'pass' : 'FAIL');
    rows.set(k, row);
  }
  const w0 = Math.max(4, ...[...rows.keys()].map((k) => k.length));
  const ws = targets.map((t) => Math.max(t.length, 7));
  const line = (first: string, cells: string[]) =>
    [first.padEnd(w0), ...cells.map((c, i) => c.padEnd(ws[i]!))].join('  ').trimEnd();
  return [
    line('case', targets),
    ...[...rows.entries()].map(([k, row]) =>
      line(
        k,
        rep.targets.map((t) => (t.skipped ? 'skipped' : (row.get(t.label) ?? '-'))),
      ),
    ),
  ];
}

export function humanReport(rep: TestReport): string[] {
  const out: string[] = [];
  for (const c of rep.cases) if (!c.ok) out.push(...failureLines(c));
  for (const t of rep.targets) if (t.skipped) out.push(`skipped httpd ${t.label}: ${t.skipped}`);
  if (rep.targets.length > 1) out.push('', ...seriesTable(rep));
  out.push(
    `${rep.failed ? `${rep.failed} failed, ` : ''}${rep.passed} passed ` +
      `(${rep.total} case run${rep.total === 1 ? '' : 's'}, ${rep.module} on ` +
      `${rep.targets.map((t) => t.label).join(', ')}) in ${(rep.ms / 1000).toFixed(1)} ` +
      `s${rep.seed !== null ? `; order seed ${rep.seed}` : ''}`,
  );
  for (const k of rep.kept) out.push(`kept ${k}`);
  return out;
}

/**
 * A control character XML 1.0 cannot hold (a module's binary garbage in a body): all below 0x20 but
 * tab, LF, CR.
 */
const unfit = (c: string) => c.charCodeAt(0) < 0x20 && c !== '\t' && c !== '\n' && c !== '\r';
const xml = (s: string) =>
  [
    ...s.replace(
      /[&<>"]/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c,
    ),
  ]
    .map((c) => (unfit(c) ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c))
    .join('');

/**
 * JUnit XML: a <testsuite> per file and target, a <testcase> per case run, a <failure> with the
 * failure lines.
 */
export function junitReport(rep: TestReport): string {
  const suites = new Map<string, CaseResult[]>();
  for (const c of rep.cases) {
    const k = `${c.file} [${c.target}]`;
    suites.set(k, [...(suites.get(k) ?? []), c]);
  }
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="apxs-ts test ${xml(rep.module)}" tests="${rep.total}" ` +
      `failures="${rep.failed}" errors="0" time="${(rep.ms / 1000).toFixed(3)}">`,
  ];
  for (const [name, cs] of suites) {
    const fails = cs.filter((c) => !c.ok).length;
    out.push(
      `  <testsuite name="${xml(name)}" tests="${cs.length}" ` +
        `failures="${fails}" errors="0" skipped="0" ` +
        `time="${(cs.reduce((a, c) => a + c.ms, 0) / 1000).toFixed(3)}">`,
    );
    for (const c of cs) {
      const tag =
        `    <testcase classname="${xml(name)}" ` +
        `name="${xml(c.name + (c.iteration > 1 ? ` #${c.iteration}` : ''))}" ` +
        `time="${(c.ms / 1000).toFixed(3)}"`;
      if (c.ok) out.push(`${tag}/>`);
      else
        out.push(
          `${tag}>`,
          `      <failure message="${xml(c.failures.map((f) => f.what).join(', '))}">` +
            `${xml(failureLines(c).join('\n'))}</failure>`,
          '    </testcase>',
        );
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n');
}

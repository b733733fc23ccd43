/**
 * The verdict on one case: what it expected against what came back and what
 * the error log says. Anything unexpected fails it: an [error] or worse line
 * no errorLog expectation names, a child that died by a signal, no response.
 */
import { describeMatcher, satisfies, type Matcher, type TestCase } from './case-file.js';
import type { HttpResult } from './http.js';
import { CHILD_SIGNAL, SEVERE_LINE } from './log-window.js';

export interface Failure {
  /**
   * What failed: status, header X, body, errorLog, noErrorLog, unexpected log line, child signal,
   * no response, server.
   */
  what: string;
  expected: string;
  actual: string;
  /** For a body that was to equal a text: a line diff (- expected, + actual). */
  diff?: string[];
}

/** A line diff: the common head and tail kept as context, the middle as - and + lines. */
export function lineDiff(expected: string, actual: string): string[] {
  const a = expected.split('\n');
  const b = actual.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const ctx = (l: string) => `  ${JSON.stringify(l).slice(1, -1)}`;
  return [
    ...a.slice(Math.max(0, head - 2), head).map(ctx),
    ...a.slice(head, a.length - tail).map((l) => `- ${JSON.stringify(l).slice(1, -1)}`),
    ...b.slice(head, b.length - tail).map((l) => `+ ${JSON.stringify(l).slice(1, -1)}`),
    ...a.slice(a.length - tail, Math.min(a.length, a.length - tail + 2)).map(ctx),
  ];
}

const short = (s: string, n = 300) =>
  s.length > n ? `${JSON.stringify(s.slice(0, n))}… (${s.length} bytes)` : JSON.stringify(s);

/** The signal a child died of, from one log line ("Segmentation fault (11)"), if it says so. */
export function childSignal(line: string): string | undefined {
  return CHILD_SIGNAL.exec(line)?.[2]?.trim();
}

export function checkCase(c: TestCase, res: HttpResult, log: string[]): Failure[] {
  const f: Failure[] = [];
  const e = c.expect;
  if (res.error)
    f.push({ what: 'no response', expected: 'a complete HTTP response', actual: res.error });
  if (e.status !== undefined && res.status !== e.status)
    f.push({
      what: 'status',
      expected: String(e.status),
      actual: res.status === undefined ? '(none)' : String(res.status),
    });
  for (const [name, m] of Object.entries(e.headers)) {
    const v = res.headers[name];
    if (m === null) {
      if (v !== undefined)
        f.push({ what: `header ${name}`, expected: 'absent', actual: JSON.stringify(v) });
    } else if (v === undefined || !satisfies(m, v)) {
      f.push({
        what: `header ${name}`,
        expected: describeMatcher(m),
        actual: v === undefined ? '(absent)' : JSON.stringify(v),
      });
    }
  }
  for (const m of e.body) {
    if (satisfies(m, res.body)) continue;
    f.push({
      what: 'body',
      expected: describeMatcher(m),
      actual: short(res.body),
      ...('equals' in m ? { diff: lineDiff(m.equals, res.body) } : {}),
    });
  }
  const expectedLine = (l: string) => e.errorLog.some((m) => satisfies(m, l));
  for (const m of e.errorLog) {
    if (!log.some((l) => satisfies(m, l)))
      f.push({
        what: 'errorLog',
        expected: `a line that ${describeMatcher(m)} within ${e.waitMs} ms`,
        actual: `not among the ${log.length} line(s) written`,
      });
  }
  for (const m of e.noErrorLog) {
    const hit = log.find((l) => satisfies(m, l));
    if (hit)
      f.push({ what: 'noErrorLog', expected: `no line that ${describeMatcher(m)}`, actual: hit });
  }
  for (const l of log) {
    const sig = childSignal(l);
    if (sig)
      f.push({
        what: 'child signal',
        expected: 'no child to die',
        actual: `a child died of ${sig}: ${l}`,
      });
    else if (SEVERE_LINE.test(l) && !expectedLine(l))
      f.push({
        what: 'unexpected log line',
        expected: 'no [error], [crit], [alert] or [emerg] line the case does not expect',
        actual: l,
      });
  }
  return f;
}

export type { Matcher };

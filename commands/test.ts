import { ApxsError } from '../lib/core/errors.js';
import { parseOrder, runTests } from '../lib/testing/run.js';
import { caseTitle, humanReport, junitReport } from '../lib/testing/report.js';
import { emit, status } from './stream.js';
import { isJson } from './progress.js';
import type { Outcome } from './types.js';

export interface TestOptions {
  file?: string[];
  serverRoot?: string[];
  series?: string;
  repeat?: number;
  gracefulBetween?: boolean;
  order?: string;
  grep?: string;
  reporter: string;
  keep?: boolean;
  jobs?: number;
}

export async function test(dir: string, o: TestOptions): Promise<Outcome> {
  if (o.reporter !== 'human' && o.reporter !== 'junit')
    throw new ApxsError('BAD_INPUT', `unknown reporter ${JSON.stringify(o.reporter)}`, {
      hint: 'human or junit',
    });
  if (o.reporter === 'junit' && isJson())
    throw new ApxsError(
      'USAGE',
      '--reporter junit prints XML on stdout, --json one JSON object: choose one',
      { hint: 'apxs-ts test --reporter junit > junit.xml' },
    );
  let grep: RegExp | undefined;
  try {
    grep = o.grep === undefined ? undefined : new RegExp(o.grep);
  } catch (e) {
    throw new ApxsError('BAD_INPUT', `--grep: ${(e as Error).message}`, {
      hint: 'a JavaScript regular expression, e.g. "hello|info"',
    });
  }
  const ac = new AbortController();
  const abort = () => ac.abort();
  process.on('SIGINT', abort);
  process.on('SIGTERM', abort);
  try {
    const rep = await runTests({
      dir,
      files: o.file,
      serverRoots: o.serverRoot,
      series: o.series
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      repeat: o.repeat,
      gracefulBetween: o.gracefulBetween,
      seed: parseOrder(o.order),
      grep,
      keep: o.keep,
      jobs: o.jobs,
      signal: ac.signal,
      onCase: (r) => status(`${r.ok ? 'pass' : 'FAIL'} ${caseTitle(r)} [${r.target}]`),
    });
    status('');
    if (rep.swept.length)
      status(
        `stopped and deleted ${rep.swept.length} server root(s) ` +
          `of earlier runs that were killed: ${rep.swept.join(', ')}`,
      );
    if (o.reporter === 'junit') emit({ json: {}, lines: [junitReport(rep)] });
    const human = humanReport(rep);
    if (rep.failed) {
      throw new ApxsError('TESTS_FAILED', `${rep.failed} of ${rep.total} case runs failed`, {
        details: human,
        data: { ...rep },
        hint:
          'the failures are listed above the summary; ' +
          '--keep keeps the server roots to look into',
      });
    }
    return { data: { ...rep }, human };
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}

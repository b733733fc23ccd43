import type { Command } from 'commander';
import { ApxsError } from '../lib/core/errors.js';
import { parseOrder, runTests } from '../lib/testing/run.js';
import { caseTitle, humanReport, junitReport } from '../lib/testing/report.js';
import { jobsArg, numberArg } from './options.js';
import { NUMBER_RULES } from '../lib/core/numbers.js';
import { emit, status } from './stream.js';
import { outputMode } from './progress.js';
import type { Runner } from './types.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface TestOptions {
  file?: string[]; serverRoot?: string[]; series?: string; repeat?: number; gracefulBetween?: boolean; order?: string;
  grep?: string; reporter: string; keep?: boolean; jobs?: number;
}

export function register(program: Command, run: Runner): void {
  program.command('test')
    .argument('[dir]', 'module directory (its case files: tests/*.yaml)', '.')
    .option('--file <case-file>', 'a case file to run instead of tests/*.yaml (repeatable)', collect)
    .option('--server-root <dir>', 'test on this httpd: a prefix (any series) is cloned per case file (repeatable; default: the system httpd)', collect)
    .option('--series <list>', 'test on the newest installed release of each series (1.3,2.0,2.2,2.4; see source versions)')
    .option('--repeat <n>', 'run each case N times', numberArg(NUMBER_RULES.repeat))
    .option('--graceful-between', 'graceful restart between cases (finds state kept across generations)')
    .option('--order <order>', 'file (default) or random[:SEED]: the order of the cases of each file')
    .option('--grep <pattern>', 'only the cases whose name matches this regular expression')
    .option('--reporter <name>', 'human (stderr) or junit (JUnit XML on stdout)', 'human')
    .option('--keep', 'keep the throwaway server roots (their paths are printed)')
    .option('--jobs <n>', 'case files run at once (default: the CPU count)', jobsArg)
    .description('run the module\'s request/response cases against a throwaway server per case file (and per httpd series)')
    .addHelpText('after', [
      '',
      'A case file (tests/NAME.yaml; every mistake in it is reported as file:line, exit 2):',
      '  config: |                    # added to the server config (optional)',
      '    <Location /hello> SetHandler hello </Location>',
      '  vhosts: [{ name: one.test, config: "..." }]',
      '  cases:',
      '    - name: says hello',
      '      request: { method: GET, path: /hello, host: one.test, headers: { X-A: b }, body: "", timeoutMs: 30000 }',
      '      expect:',
      '        status: 200',
      '        headers: { Content-Type: { contains: text/plain } }',
      '        body: "Hello from mod_hello\\n"   # or { equals | contains | matches: ... }',
      '        errorLog: [handling declined]    # lines that must appear (waited for, waitMs: 2000)',
      '        noErrorLog: [AH01630]           # patterns that must not',
      'Any [error]/[crit]/[alert]/[emerg] line a case does not expect, and a child that died by a signal, fail it.',
      'Exit 0: all passed; 1: a case failed; 2: a bad case file or option.',
      '',
      'Examples:',
      '  cd mod_hello && apxs-ts test',
      '  apxs-ts test --server-root /opt/httpd-2.2.34 --server-root /opt/apache-1.3.42',
      '  apxs-ts test --series 2.2,2.4 --repeat 20 --order random --reporter junit > junit.xml',
    ].join('\n'))
    .action(run(async (dir: string, o: TestOptions) => {
      if (o.reporter !== 'human' && o.reporter !== 'junit') throw new ApxsError('BAD_INPUT', `unknown reporter ${JSON.stringify(o.reporter)}`, { hint: 'human or junit' });
      if (o.reporter === 'junit' && outputMode().json) throw new ApxsError('USAGE', '--reporter junit prints XML on stdout, --json one JSON object: choose one', { hint: 'apxs-ts test --reporter junit > junit.xml' });
      let grep: RegExp | undefined;
      try {
        grep = o.grep === undefined ? undefined : new RegExp(o.grep);
      } catch (e) {
        throw new ApxsError('BAD_INPUT', `--grep: ${(e as Error).message}`, { hint: 'a JavaScript regular expression, e.g. "hello|info"' });
      }
      const ac = new AbortController();
      const abort = () => ac.abort();
      process.on('SIGINT', abort);
      process.on('SIGTERM', abort);
      try {
        const rep = await runTests({
          dir, files: o.file, serverRoots: o.serverRoot, series: o.series?.split(',').map((s) => s.trim()).filter(Boolean),
          repeat: o.repeat, gracefulBetween: o.gracefulBetween, seed: parseOrder(o.order), grep, keep: o.keep, jobs: o.jobs, signal: ac.signal,
          onCase: (r) => status(`${r.ok ? 'pass' : 'FAIL'} ${caseTitle(r)} [${r.target}]`),
        });
        status('');
        if (rep.swept.length) status(`stopped and deleted ${rep.swept.length} server root(s) of earlier runs that were killed: ${rep.swept.join(', ')}`);
        if (o.reporter === 'junit') emit({ json: {}, lines: [junitReport(rep)] });
        const human = humanReport(rep);
        if (rep.failed) {
          throw new ApxsError('TESTS_FAILED', `${rep.failed} of ${rep.total} case runs failed`, { details: human, data: { ...rep }, hint: 'the failures are listed above the summary; --keep keeps the server roots to look into' });
        }
        return { data: { ...rep }, human };
      } finally {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      }
    }));
}

/**
 * Running lib/ code in a child process so that Stryker still sees it
 * (issue #16). Some paths need a whole process of their own (process.seteuid
 * is refused in the worker threads Stryker's vitest runner uses), so a test
 * runs them in a child started with vite-node, which loads lib/ from the
 * sandbox: the instrumented code. Two things cross the process boundary:
 * the mutant under test (Stryker's own environment variable, which the
 * instrumented code reads at load) and, back, which mutants the child
 * reached (merged into the test's coverage, else Stryker would count the
 * child-only lines as covered by no test and never run this test on them).
 * Outside Stryker both are no-ops.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './helpers.js';

interface StrykerNs {
  activeMutant?: string;
  currentTestId?: string;
  mutantCoverage?: {
    static: Record<string, number>;
    perTest: Record<string, Record<string, number>>;
  };
}
const ns = (): StrykerNs | undefined => (globalThis as { __stryker__?: StrykerNs }).__stryker__;

/** The line a child script prints last: its result and the mutants it reached. */
export const CHILD_REPORT = 'APXS_TS_CHILD_REPORT ';

/** Call at the end of a child script: prints `value` and the child's coverage on one line. */
export function reportFromChild(value: unknown): void {
  process.stdout.write(
    `\n${CHILD_REPORT}${JSON.stringify({ value, covered: ns()?.mutantCoverage?.static ?? {} })}\n`,
  );
}

/** Runs test/SCRIPT (a .ts file) with vite-node and `env`; resolves to the value it reported. */
export function runChildScript(script: string, env: Record<string, string>): Promise<unknown> {
  const active = ns()?.activeMutant;
  const childEnv = {
    ...process.env,
    ...env,
    ...(active !== undefined ? { __STRYKER_ACTIVE_MUTANT__: String(active) } : {}),
  };
  // resolved, not joined to ROOT: Stryker's sandbox has no node_modules of its own (it is found above it)
  const viteNode = createRequire(import.meta.url).resolve('vite-node/vite-node.mjs');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [viteNode, path.join(ROOT, 'test', script)],
      { env: childEnv, cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith(CHILD_REPORT));
        if (!line)
          return reject(
            new Error(`${script}: no report (${err?.message ?? 'exit 0'}): ${stderr.slice(-2000)}`),
          );
        const { value, covered } = JSON.parse(line.slice(CHILD_REPORT.length)) as {
          value: unknown;
          covered: Record<string, number>;
        };
        const s = ns();
        if (s?.currentTestId) {
          s.mutantCoverage ??= { static: {}, perTest: {} };
          const mine = s.mutantCoverage.perTest[s.currentTestId] ?? {};
          s.mutantCoverage.perTest[s.currentTestId] = mine;
          for (const [id, n] of Object.entries(covered)) mine[id] = (mine[id] ?? 0) + n;
        }
        resolve(value);
      },
    );
  });
}

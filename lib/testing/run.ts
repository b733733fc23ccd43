/**
 * `apxs-ts test`: every case file of a module against a throwaway server per
 * file and per target httpd. All files are parsed before anything runs (a
 * bad file is exit 2 and nothing started); the module is built once per
 * target (incrementally, by build's own code) before that target's files
 * run; the files of a target run in parallel, up to `jobs`; within a file
 * the cases run one after another against its server, each given the error
 * log lines written since the previous case ended. Every server is stopped
 * and every root deleted (unless `keep`) before this returns or throws,
 * also when `signal` aborts the run (Ctrl-C).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { assertTrusted } from '../core/trust.js';
import { failpoint } from '../core/failpoint.js';
import { trace } from '../core/trace.js';
import { rootsParent, sweepDeadRoots } from './owned-roots.js';
import { serverProfile } from '../httpd/profile.js';
import { detectServerRoot, type ServerRoot } from '../httpd/server-root.js';
import { findSystemHttpd } from '../httpd/system-httpd.js';
import { httpdSeries } from '../httpd/version.js';
import {
  buildModule,
  checkModuleApi,
  readModuleProject,
  type ModuleProject,
} from '../module/compile.js';
import { toolchainForServer } from '../module/toolchain.js';
import { installedVersions } from '../source/receipts.js';
import { parseCaseFile, type CaseFile, type CaseRequest, type TestCase } from './case-file.js';
import { checkCase, childSignal, type Failure } from './check.js';
import type { HttpResult } from './http.js';
import { CHILD_SIGNAL, SEVERE_LINE } from './log-window.js';
import { serverFor, stopQuietly, type TestServer } from './server.js';

export interface RunOptions {
  /** The module directory. */
  dir: string;
  /** Case files; default: tests/*.yaml and tests/*.yml of the module directory. */
  files?: string[];
  /**
   * Server roots to test on (each an httpd prefix to clone, or a root of the system httpd); none:
   * the system httpd.
   */
  serverRoots?: string[];
  /** Series (1.3, 2.0, 2.2, 2.4): the newest release of each that `source build` installed. */
  series?: string[];
  repeat?: number;
  gracefulBetween?: boolean;
  /** Cases of each file in a random order from this seed. */
  seed?: number;
  grep?: RegExp;
  keep?: boolean;
  jobs?: number;
  signal?: AbortSignal;
  /** Each case's result as it is known. */
  onCase?: (r: CaseResult) => void;
}

export interface Target {
  label: string;
  version: string | undefined;
  serverRoot: string | null;
  /** Why nothing ran on it (the module is for another module API). */
  skipped: string | null;
}

export interface CaseResult {
  file: string;
  name: string;
  where: string;
  target: string;
  iteration: number;
  ok: boolean;
  ms: number;
  request: CaseRequest;
  response: {
    status: number | null;
    headers: Record<string, string>;
    body: string;
    error: string | null;
  } | null;
  failures: Failure[];
  /** The error log lines written during the case. */
  log: string[];
  /** The server root, when kept. */
  root: string | null;
}

export interface TestReport {
  module: string;
  targets: Target[];
  cases: CaseResult[];
  passed: number;
  failed: number;
  total: number;
  seed: number | null;
  kept: string[];
  /** Roots of earlier runs that were killed (kill -9), stopped and deleted by this one. */
  swept: string[];
  ms: number;
}

/** The case files of a module directory: tests/*.yaml and tests/*.yml, sorted. */
export async function caseFilesOf(dir: string): Promise<string[]> {
  const t = path.join(dir, 'tests');
  const names = await fs.readdir(t).catch(() => [] as string[]);
  return names
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => path.join(t, n));
}

/**
 * A case file is written by hand: one past this is a mistake (a 12 MB file of 200 000 cases took
 * 1.4 GB and 30 s to parse).
 */
export const MAX_CASE_FILE_BYTES = 2 * 1024 * 1024;
/** A binary file named as a case file makes thousands of YAML errors: the first ones say enough. */
const MAX_MISTAKES_SHOWN = 50;

/**
 * The text of a case file: at most MAX_CASE_FILE_BYTES of UTF-8 (a UTF-16 or binary file is said to
 * be one).
 */
async function readCaseText(f: string): Promise<string> {
  // A FIFO would block the open until someone writes to it: only regular files are read.
  if (!(await fs.stat(f)).isFile()) throw new Error('not a regular file');
  const fh = await fs.open(f, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size > MAX_CASE_FILE_BYTES)
      throw new Error(
        `${size} bytes: more than a case file may hold ` +
          `(${MAX_CASE_FILE_BYTES / 1024 / 1024} MiB); split it into files`,
      );
    const buf = Buffer.alloc(MAX_CASE_FILE_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_CASE_FILE_BYTES)
      throw new Error(
        'more than a case file may hold ' +
          `(${MAX_CASE_FILE_BYTES / 1024 / 1024} MiB); split it into files`,
      );
    const bytes = buf.subarray(0, bytesRead);
    if (bytes.includes(0))
      throw new Error('not UTF-8 text (it holds NUL bytes: UTF-16, or a binary file?)');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new Error('not UTF-8 text (save it as UTF-8)');
    }
  } finally {
    await fh.close();
  }
}

/** Parses every file; all their mistakes in one BAD_CASE_FILE. */
export async function readCaseFiles(files: string[]): Promise<CaseFile[]> {
  const out: CaseFile[] = [];
  const errors: string[] = [];
  for (const f of files) {
    const text = await readCaseText(f).catch((e: NodeJS.ErrnoException) => {
      errors.push(`${f}: ${e.code ? `cannot read it (${e.code})` : e.message}`);
      return undefined;
    });
    if (text === undefined) continue;
    try {
      out.push(parseCaseFile(text, path.relative(process.cwd(), f) || f));
    } catch (e) {
      if (e instanceof ApxsError && e.code === 'BAD_CASE_FILE') errors.push(...e.details);
      else throw e;
    }
  }
  if (errors.length) {
    const shown =
      errors.length > MAX_MISTAKES_SHOWN
        ? [
            ...errors.slice(0, MAX_MISTAKES_SHOWN),
            `... and ${errors.length - MAX_MISTAKES_SHOWN} more`,
          ]
        : errors;
    throw new ApxsError(
      'BAD_CASE_FILE',
      `${errors.length} mistake${errors.length === 1 ? '' : 's'} ` +
        'in the case files: nothing was run',
      {
        details: shown,
        hint: 'fix the lines named (file:line)',
        data: { errors },
      },
    );
  }
  return out;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same order on every machine. */
export function seededShuffle<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The prefixes `--series` names: the newest install of each series that still has its httpd. */
export async function rootsOfSeries(series: string[]): Promise<string[]> {
  const { installs } = await installedVersions();
  const out: string[] = [];
  for (const s of series) {
    let found: string | undefined;
    for (const i of installs) {
      if (i.series !== s && !i.version.startsWith(`${s}.`)) continue;
      if (
        await fs.stat(path.join(i.prefix, 'bin', 'httpd')).then(
          () => true,
          () => false,
        )
      ) {
        found = i.prefix;
        break;
      }
    }
    if (!found) {
      throw new ApxsError('BAD_INPUT', `no httpd ${s} built by apxs-ts is installed`, {
        hint:
          `build one (apxs-ts source build ${s}), or name a server root with ` +
          '--server-root; apxs-ts source versions lists what is installed',
      });
    }
    out.push(found);
  }
  return out;
}

/**
 * `--order`: file (undefined: as written) or random[:SEED] (a seed drawn when none is given, and
 * reported).
 */
export function parseOrder(order: string | undefined): number | undefined {
  if (order === undefined || order === 'file') return undefined;
  const m = /^random(?::(\d{1,10}))?$/.exec(order);
  if (!m || (m[1] !== undefined && Number(m[1]) > 0xffffffff)) {
    throw new ApxsError('BAD_INPUT', `bad --order ${JSON.stringify(order)}`, {
      hint: 'file, random or random:SEED (a whole number below 2^32)',
    });
  }
  return m[1] !== undefined ? Number(m[1]) : Math.floor(Math.random() * 0xffffffff);
}

const interrupted = () =>
  new ApxsError('INTERRUPTED', 'interrupted: every test server was stopped and its root deleted', {
    hint: 'run it again',
  });

interface Planned {
  c: TestCase;
  iteration: number;
}

/**
 * Errors that say nothing about the module's cases: the run ends with them instead of failing every
 * case (a temp dir others can write is refused by the trust rule).
 */
const MACHINE_FAULTS = new Set<string>(['NO_SPACE', 'READ_ONLY', 'UNSAFE_CONFIG']);

function plan(file: CaseFile, o: RunOptions): Planned[] {
  const picked = file.cases.filter((c) => !o.grep || o.grep.test(c.name));
  const repeated: Planned[] = [];
  for (const c of picked)
    for (let i = 1; i <= (o.repeat ?? 1); i++) repeated.push({ c, iteration: i });
  return o.seed === undefined ? repeated : seededShuffle(repeated, o.seed);
}

function resultOf(
  file: CaseFile,
  p: Planned,
  target: string,
  fields: Partial<CaseResult>,
): CaseResult {
  return {
    file: file.file,
    name: p.c.name,
    where: p.c.where,
    target,
    iteration: p.iteration,
    ok: false,
    ms: 0,
    request: p.c.request,
    response: null,
    failures: [],
    log: [],
    root: null,
    ...fields,
  };
}

const responseOf = (r: HttpResult): CaseResult['response'] => ({
  status: r.status ?? null,
  headers: r.headers,
  body: r.body,
  error: r.error ?? null,
});

/** One file on one target: its server, its cases, then stop and delete. */
async function runFile(
  file: CaseFile,
  project: ModuleProject,
  target: ServerRoot | undefined,
  label: string,
  o: RunOptions,
  emit: (r: CaseResult) => void,
): Promise<string | null> {
  const planned = plan(file, o);
  if (!planned.length || o.signal?.aborted) return null;
  let server: TestServer;
  try {
    server = await serverFor({
      module: project.dir,
      serverRoot: target,
      config: file.config,
      vhosts: file.vhosts,
      keepOnFailure: o.keep,
    });
  } catch (e) {
    const err =
      e instanceof ApxsError ? e : new ApxsError('INTERNAL', (e as Error).message, { cause: e });
    // The machine's fault, not the module's: a full or read-only disk ends the run with its own
    // code and path.
    if (MACHINE_FAULTS.has(err.code)) throw err;
    const failure: Failure = {
      what: 'server',
      expected: "the server to start with the module and the file's config",
      actual: [err.message, ...err.details].join('\n'),
    };
    for (const p of planned) emit(resultOf(file, p, label, { failures: [failure] }));
    return null;
  }
  let last: CaseResult | undefined;
  let notRunAfter: CaseResult[] = [];
  try {
    for (const [i, p] of planned.entries()) {
      if (o.signal?.aborted) break;
      trace('test:case', `${path.basename(server.dir)} ${i + 1}/${planned.length}`);
      const t0 = Date.now();
      const res = await server.request(p.c.request, {
        signal: o.signal,
        timeoutMs: p.c.request.timeoutMs,
      });
      if (o.signal?.aborted) break;
      // Expected lines are waited for; after a dropped connection, the parent's line about the
      // child's death too.
      const log = await server.errorLog.collect(
        p.c.expect.errorLog,
        p.c.expect.waitMs,
        res.error ? (lines) => lines.some((l) => CHILD_SIGNAL.test(l)) : undefined,
        o.signal,
      );
      const failures = checkCase(p.c, res, log);
      let r = resultOf(file, p, label, {
        ok: failures.length === 0,
        ms: Date.now() - t0,
        response: responseOf(res),
        failures,
        log,
        root: o.keep ? server.sr.root : null,
      });
      if (o.gracefulBetween && i < planned.length - 1) {
        // A restart that fails (the case stopped the server, the new generation does not answer)
        // fails this case; the cases after it are not run against a server in an unknown state.
        const restartFailure = await server.graceful().then(
          () => undefined,
          (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
        );
        if (restartFailure) {
          const what = [
            restartFailure.message,
            ...(restartFailure instanceof ApxsError ? restartFailure.details : []),
          ].join('\n');
          r = {
            ...r,
            ok: false,
            failures: [
              ...r.failures,
              {
                what: 'graceful restart after the case',
                expected: 'the server to restart and answer',
                actual: what,
              },
            ],
          };
          if (last) emit(last);
          last = r;
          const notRun: Failure = {
            what: 'server',
            expected: 'a server to run the case against',
            actual: `not run: the graceful restart after "${p.c.name}" failed`,
          };
          notRunAfter = planned
            .slice(i + 1)
            .map((q) => resultOf(file, q, label, { failures: [notRun] }));
          break;
        }
      }
      if (last) emit(last);
      last = r;
      failpoint('test:mid-cases');
    }
  } finally {
    // What the server writes up to its stop (a module's cleanup, a child reaped late) is the last
    // case's.
    let after: string[] = [];
    try {
      trace('test:stopping', path.basename(server.dir));
      // Interrupted: a request still running (a hung handler) is not waited for.
      await stopQuietly(server.sr, { graceful: !o.signal?.aborted });
      after = await server.errorLog.take();
    } finally {
      await server.close({ keep: o.keep });
      trace('test:closed', path.basename(server.dir));
    }
    if (last) {
      const late = checkLateLines(after);
      if (late.length)
        last = {
          ...last,
          ok: false,
          failures: [...last.failures, ...late],
          log: [...last.log, ...after],
        };
      emit(last);
    }
    for (const r of notRunAfter) emit(r);
  }
  return o.keep ? server.dir : null;
}

/**
 * After the last case, up to the stop: only what is wrong in any case (a child's signal, an [error]
 * or worse).
 */
function checkLateLines(lines: string[]): Failure[] {
  return lines.flatMap((l): Failure[] => {
    const sig = childSignal(l);
    if (sig)
      return [
        {
          what: 'child signal (after the last case)',
          expected: 'no child to die',
          actual: `a child died of ${sig}: ${l}`,
        },
      ];
    return SEVERE_LINE.test(l)
      ? [
          {
            what: 'unexpected log line (after the last case, up to the stop)',
            expected: 'none',
            actual: l,
          },
        ]
      : [];
  });
}

/** Runs `fn` over `items`, at most `jobs` at a time. */
async function pool<T>(items: T[], jobs: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  // Every worker finishes (each file's server stopped, its root deleted) before an error of one is
  // thrown.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}

async function targetLabel(
  sr: ServerRoot | undefined,
): Promise<{ label: string; version: string | undefined }> {
  if (sr) {
    const p = await serverProfile(sr);
    return { label: p.version, version: p.version };
  }
  const sys = await findSystemHttpd();
  const v = await httpdSeries(sys.httpd).catch(() => undefined);
  return { label: v ? `${v.version} (system)` : 'system httpd', version: v?.version };
}

export async function runTests(o: RunOptions): Promise<TestReport> {
  const t0 = Date.now();
  // The module's sources are compiled and loaded into an httpd apxs-ts starts (as root, often), and
  // a case file's config is that httpd's (`CustomLog "|prog"` runs prog): both are judged like
  // every found config.
  assertTrusted(o.dir, 'module directory');
  const project = await readModuleProject(o.dir);
  assertTrusted(project.dir, 'module directory');
  // Its sources, and every file beside them (a header the sources include): another user's file
  // there is compiled in.
  const besides = (await fs.readdir(project.dir, { withFileTypes: true }))
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => path.join(project.dir, e.name));
  for (const f of [
    project.manifestFile,
    ...project.sources.map((s) => path.resolve(project.dir, s)),
    ...besides,
  ])
    assertTrusted(f, 'module file');
  const fileNames = o.files?.length ? o.files : await caseFilesOf(project.dir);
  for (const f of fileNames) assertTrusted(f, 'case file');
  rootsParent(os.tmpdir());
  // What runs killed with -9 left (their servers, their roots): stopped and deleted before this run
  // adds its own.
  const swept = await sweepDeadRoots();
  if (!fileNames.length) {
    throw new ApxsError(
      'BAD_INPUT',
      `no case files in ${path.join(project.dir, 'tests')} (*.yaml)`,
      {
        hint:
          'write one (apxs-ts new scaffolds tests/NAME.yaml ' +
          'with every template), or name files with --file',
      },
    );
  }
  const files = await readCaseFiles(fileNames);
  if (o.grep && !files.some((f) => f.cases.some((c) => o.grep!.test(c.name)))) {
    throw new ApxsError('BAD_INPUT', `--grep ${o.grep.source}: no case name matches`, {
      hint: `the cases: ${files
        .flatMap((f) => f.cases.map((c) => JSON.stringify(c.name)))
        .slice(0, 10)
        .join(', ')}`,
    });
  }
  const rootPaths = [
    ...(o.serverRoots ?? []),
    ...(o.series?.length ? await rootsOfSeries(o.series) : []),
  ];
  const targetRoots: (ServerRoot | undefined)[] = rootPaths.length
    ? await Promise.all(rootPaths.map((r) => detectServerRoot(r)))
    : [undefined];
  const targets: Target[] = [];
  const cases: CaseResult[] = [];
  const kept: string[] = [];
  const emit = (r: CaseResult) => {
    cases.push(r);
    o.onCase?.(r);
  };
  for (const sr of targetRoots) {
    if (o.signal?.aborted) break;
    const { label, version } = await targetLabel(sr);
    const tc = await toolchainForServer(sr);
    try {
      checkModuleApi(project, tc);
    } catch (e) {
      if (!(e instanceof ApxsError && e.code === 'API_MISMATCH')) throw e;
      targets.push({ label, version, serverRoot: sr?.root ?? null, skipped: e.message });
      continue;
    }
    targets.push({ label, version, serverRoot: sr?.root ?? null, skipped: null });
    // Once per target, before its files run in parallel: they then install the .so this made.
    await buildModule(project, tc);
    await pool(files, o.jobs ?? os.availableParallelism(), async (f) => {
      const dir = await runFile(f, project, sr, label, o, emit);
      if (dir) kept.push(dir);
    });
  }
  if (o.signal?.aborted) throw interrupted();
  const failed = cases.filter((c) => !c.ok).length;
  return {
    module: project.module.stem,
    targets,
    cases,
    passed: cases.length - failed,
    failed,
    total: cases.length,
    seed: o.seed ?? null,
    kept,
    swept,
    ms: Date.now() - t0,
  };
}

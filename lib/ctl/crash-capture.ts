/**
 * What `ctl start` adds to the httpd it launches so that a crashed child
 * leaves something to explain it (issue #21), for that httpd only:
 *
 * - `CoreDumpDirectory <state dir>/crashes` as a start-time directive (`-c`),
 *   not an edit of the user's config: httpd keeps its command line across
 *   restarts, and the config stays the user's;
 * - the core size limit raised in a `sh` that then execs httpd (never this
 *   process's or the system's limit);
 * - the crash recorder (templates/crash/apxs-ts-crash.c, built once into the
 *   cache) preloaded, which gives each crash its own directory, `<pid>/`,
 *   with the frames of the crash and, where core_pattern lets a core land in
 *   the process's directory, the core. Without it, with core_uses_pid 0,
 *   every crash would overwrite the one `core` of the previous.
 *
 * No C compiler: cores and the error log only (the recorder is skipped with a warning).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cacheDir, shortHash } from '../core/cache.js';
import { exists, which } from '../core/fs.js';
import { whyUntrusted } from '../core/trust.js';
import { runCapture } from '../core/run.js';
import { templatesRoot } from '../core/templates.js';
import type { HttpdCommand } from '../httpd/invoke.js';
import type { ServerRoot } from '../httpd/server-root.js';

/**
 * Crash directories kept: the oldest beyond this are removed at the next start (cores are large).
 */
export const KEEP_CRASHES = 50;

export const crashDir = (sr: ServerRoot): string => path.join(sr.stateDir, 'crashes');
const runFile = (sr: ServerRoot): string => path.join(crashDir(sr), 'run.json');

export interface CrashRun {
  /** When this start began (ms since the epoch): crashes before it belong to an earlier run. */
  startedAt: number;
  errorLog: string | undefined;
  /** The error log's size at start: its "exit signal" lines after it are this run's. */
  logOffset: number;
  httpd: string;
  recorder: boolean;
  /** The sanitizer runtimes preloaded (modules built with `build --sanitize`). */
  sanitizers?: string[];
  /**
   * The secret the recorder writes first into each crash's frames: the crash
   * directory is writable by everyone (1733), so a `<pid>/` directory is this
   * server's only when its frames carry it (run.json is 0600: only root and
   * the server's own children, through their environment, know it).
   */
  token?: string;
}

/**
 * The recorder's shared object, compiled from its template once per source
 * text and compiler. It is preloaded into httpd's parent, which runs as root:
 * a cached copy, or a cache directory, that another user could write (an
 * XDG_CACHE_HOME they own, a world-writable ~/.cache) would run their code
 * there, so it is used only when it passes the trust rule (lib/core/trust.ts).
 */
async function recorderSo(): Promise<{ so?: string; why?: string }> {
  const cc = process.env.CC || (await which(['gcc', 'cc', 'clang']));
  if (!cc)
    return {
      why:
        'no C compiler to build the crash recorder: a crash ' +
        'leaves only the error log line and at most one core',
    };
  const src = path.join(templatesRoot(), 'crash', 'apxs-ts-crash.c');
  const text = await fs.readFile(src, 'utf8');
  const out = path.join(cacheDir(), 'crash', `apxs-ts-crash-${shortHash(`${cc}\0${text}`)}.so`);
  // The loader splits LD_PRELOAD at spaces and colons: such a path would be skipped by it silently,
  // with every crash then unexplained.
  if (/[\s:]/.test(out))
    return {
      why:
        'the crash recorder was not preloaded: its path ' +
        `${JSON.stringify(out)} has a space or a colon, which LD_PRELOAD ` +
        'cannot hold (set XDG_CACHE_HOME to a path without them)',
    };
  const untrusted = () => {
    const u = whyUntrusted(out);
    return u
      ? {
          why:
            `the crash recorder was not preloaded: ${u.culprit} is ${u.why} ` +
            `(owner ${u.owner}); a crash leaves only the error log line`,
        }
      : undefined;
  };
  if (await exists(out)) return untrusted() ?? { so: out };
  // Two starts of one process at once (`apxs-ts test --jobs 2` on a new cache dir) share one
  // build: the second waits for the first's instead of compiling beside it.
  let building = inFlight.get(out);
  if (!building) {
    building = buildRecorder(cc, src, out, untrusted).finally(() => inFlight.delete(out));
    inFlight.set(out, building);
  }
  return building;
}

/** The recorder builds under way in this process, by output path. */
const inFlight = new Map<string, Promise<{ so?: string; why?: string }>>();

async function buildRecorder(
  cc: string,
  src: string,
  out: string,
  untrusted: () => { why: string } | undefined,
): Promise<{ so?: string; why?: string }> {
  await fs.mkdir(path.dirname(out), { recursive: true });
  const refused = untrusted();
  if (refused) return refused;
  // A temp name of this build's own: with the pid alone, two builds of one process wrote the same
  // file, one renamed the other's half-written .so into place, and the other's chmod found nothing
  // (test/reliability/crash-recorder-jobs.test.ts). The rename is atomic: other processes' builds
  // each put a complete file there.
  const random = Math.random().toString(16).slice(2, 10); // unique, and no node:crypto (#19)
  const tmp = `${out}.${process.pid}-${random}.tmp`;
  const res = await runCapture(cc, [
    '-shared',
    '-fPIC',
    '-O1',
    '-g',
    '-o',
    tmp,
    src,
    '-ldl',
    '-lpthread',
  ]);
  if (res.exitCode !== 0) {
    await fs.rm(tmp, { force: true });
    return {
      why:
        'the crash recorder did not compile: a crash ' +
        'leaves only the error log line and at most one core',
    };
  }
  try {
    // Readable by httpd's children (another user): the loader maps it in each.
    await fs.chmod(tmp, 0o755);
    await fs.rename(tmp, out);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  return untrusted() ?? { so: out };
}

/**
 * Removes the oldest crash directories beyond KEEP_CRASHES (only `<pid>` directories: apxs-ts's
 * own).
 */
async function prune(dir: string): Promise<void> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n));
  if (names.length <= KEEP_CRASHES) return;
  const aged = await Promise.all(
    names.map(async (n) => ({
      n,
      t: (await fs.stat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0,
    })),
  );
  aged.sort((a, b) => a.t - b.t);
  for (const { n } of aged.slice(0, aged.length - KEEP_CRASHES))
    await fs.rm(path.join(dir, n), { recursive: true, force: true });
}

/** A directive value in double quotes, as httpd's config reader takes it. */
const quoted = (p: string) => `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * `cmd` wrapped for crash capture, and the run recorded for `ctl crashes`.
 * The returned warnings say what could not be set up; the start goes on.
 */
export async function withCrashCapture(
  sr: ServerRoot,
  cmd: HttpdCommand,
  errorLog: string | undefined,
  logOffset: number,
): Promise<{ cmd: HttpdCommand; warnings: string[] }> {
  try {
    return await setUp(sr, cmd, errorLog, logOffset);
  } catch (err) {
    // Crash capture is an aid: a full disk or an unwritable state dir must not keep the user's
    // server from starting. The last start's record goes, so that ctl crashes does not pin this
    // run's crashes on it.
    await fs.rm(runFile(sr), { force: true }).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    return {
      cmd,
      warnings: [
        `crash capture is off for this start: ${e.path ?? crashDir(sr)}: ` +
          `${e.code === 'ENOSPC' ? 'no space left on the device' : e.message}`,
      ],
    };
  }
}

async function setUp(
  sr: ServerRoot,
  cmd: HttpdCommand,
  errorLog: string | undefined,
  logOffset: number,
): Promise<{ cmd: HttpdCommand; warnings: string[] }> {
  // node:crypto is required here, where a start uses it: `ctl status` loads this module (through
  // the start code in the same body) but never starts.
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  const dir = crashDir(sr);
  const warnings: string[] = [];
  await fs.mkdir(dir, { recursive: true });
  // httpd's children (User www-data) make their crash directory here; 1733: they can, and cannot
  // list others'.
  await fs.chmod(dir, 0o1733);
  await prune(dir);
  const rec = await recorderSo().catch((e: Error) => ({
    so: undefined,
    why: `the crash recorder could not be built: ${e.message}`,
  }));
  const so = rec.so;
  if (!so && rec.why) warnings.push(rec.why);
  const token = randomBytes(16).toString('hex');
  const env = { ...cmd.env };
  // A sanitizer runtime httpdCommand preloaded (lib/httpd/sanitizer-env.ts) stays first.
  const runtimes = (env.LD_PRELOAD ?? '').split(':').filter((p) => /lib(asan|ubsan)\.so/.test(p));
  if (so) {
    const preload = env.LD_PRELOAD ?? process.env.LD_PRELOAD;
    // After any preload already asked for: a sanitizer runtime must come first.
    env.LD_PRELOAD = preload ? `${preload}:${so}` : so;
    env.APXS_TS_CRASH_DIR = dir;
    env.APXS_TS_CRASH_TOKEN = token;
  }
  const run: CrashRun = {
    startedAt: Date.now(),
    errorLog,
    logOffset,
    httpd: sr.httpd,
    recorder: !!so,
    sanitizers: runtimes,
    token,
  };
  // 0600 (it holds the token), and by rename: a run.json someone planted as a symlink is replaced,
  // never written through.
  const tmpRun = `${runFile(sr)}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmpRun, JSON.stringify(run) + '\n', { mode: 0o600, flag: 'wx' });
    await fs.rename(tmpRun, runFile(sr));
  } catch (err) {
    await fs.rm(tmpRun, { force: true }).catch(() => undefined);
    if (!(err as NodeJS.ErrnoException).path) (err as NodeJS.ErrnoException).path = runFile(sr);
    throw err;
  }
  // The hard limit is as far as an unprivileged user may go; root may raise it.
  const raise =
    'ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)" 2>/dev/null; exec "$@"';
  return {
    cmd: {
      file: 'sh',
      args: ['-c', raise, 'sh', cmd.file, ...cmd.args, '-c', `CoreDumpDirectory ${quoted(dir)}`],
      env,
    },
    warnings,
  };
}

export async function readCrashRun(sr: ServerRoot): Promise<CrashRun | undefined> {
  const text = await fs.readFile(runFile(sr), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as CrashRun;
  } catch {
    return undefined;
  }
}

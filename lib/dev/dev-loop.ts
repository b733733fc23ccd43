/**
 * `apxs-ts dev`: save → rebuild → install → restart → request, in a loop.
 * Each cycle builds what changed (buildModule), installs it the way
 * `install` does (installProject: configtest, rolled back when httpd
 * rejects it), restarts the server and waits for the new generation, then
 * requests the module's URL. A failure at any step (compiler error,
 * undefined symbol, rejected config) is reported and ends the cycle before
 * the server is signalled, so the running server keeps answering with the
 * last good build. The server is started when it is not running.
 *
 * The restart is a plain one (SIGHUP) unless `graceful` is asked: after a
 * graceful restart httpd starts the new generation's children from its
 * once-a-second maintenance tick (measured here: the new code served 15 ms
 * or 1,010 ms after SIGUSR1, by luck of timing), while after SIGHUP it
 * starts them at once (21-30 ms). A sandbox has no one's requests to finish.
 */
import { ApxsError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { which } from '../core/fs.js';
import { childrenOf, nowMs, sleep } from '../core/proc.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { restart, start, stop } from '../ctl/lifecycle.js';
import { serverFiles } from '../ctl/server-files.js';
import { serverState } from '../ctl/server-state.js';
import { buildModule, readModuleProject, type PchState } from '../module/compile.js';
import { installProject } from '../module/install-project.js';
import { toolchainForServer } from '../module/toolchain.js';
import { fetchPage, type PageResult } from './page.js';
import { watchSaves } from './watch.js';
import { readCorePattern } from '../ctl/core-pattern.js';
import { crashPids, listCrashes, type Crash } from '../ctl/crashes.js';

export type CycleStep = 'build' | 'install' | 'restart' | 'request';

export interface Cycle {
  /** First, so a JSON line reads like every other apxs-ts answer. */
  ok: boolean;
  cycle: number;
  /** The files whose save started it; empty for the first cycle. */
  changed: string[];
  module: string;
  /** The compiler's warning lines are shown on success too. */
  build?: {
    so: string;
    upToDate: boolean;
    compiled: string[];
    warnings: string[];
    ms: number;
    /** What each compiled source's precompiled header did (lib/module/compile.ts PchState). */
    pch?: Record<string, PchState>;
  };
  installed?: { changed: string[]; ms: number };
  /** start (the server was not running), restart, graceful, or none (nothing changed). */
  server?: {
    action: string;
    pid: number | undefined;
    ms: number;
    /** The restart reused install's configtest (the same files): see lib/httpd/config-proof.ts. */
    configtestReused?: boolean;
  };
  request?: PageResult;
  /** Children that died by a signal during this cycle's request, with their backtraces. */
  crashes?: Crash[];
  /** Where it failed; the server was not signalled after a failed build or install. */
  failedAt?: CycleStep;
  error?: { code: string; message: string; hint: string | null; details: string[] };
  elapsedMs: number;
}

export interface DevOptions {
  dir: string;
  sr: ServerRoot;
  /** Graceful restarts instead of plain ones (see above). */
  graceful?: boolean;
  debounceMs?: number;
  timeoutSec?: number;
  /** Stops watching; the cycle under way finishes first. */
  signal: AbortSignal;
  onCycle(c: Cycle): void;
  /** What the cycle is doing now, for a live status line. */
  onStep?(step: CycleStep | 'waiting', cycle: number): void;
  /** Stop the server when the loop ends. */
  stopServer?: boolean;
  /** Build with the target's own flags (-O2 ...) instead of the debug build (DEBUG_FLAGS). */
  release?: boolean;
  /** A child crashed between cycles (a request not made by dev). */
  onCrash?(c: Crash): void;
}

export interface DevSummary {
  cycles: number;
  failed: number;
  serverStopped: boolean;
}

function errorOf(e: unknown): NonNullable<Cycle['error']> {
  if (e instanceof ApxsError)
    return { code: e.code, message: e.message, hint: e.hint ?? null, details: e.details };
  return {
    code: 'INTERNAL',
    message: e instanceof Error ? e.message : String(e),
    hint: null,
    details: [],
  };
}

/**
 * After a graceful restart the health URL may still be answered by old children: wait for a child
 * of the new generation.
 */
async function newGeneration(pid: number, before: Set<number>, deadline: number): Promise<void> {
  while (nowMs() < deadline) {
    if (childrenOf(pid).some((c) => !before.has(c))) return;
    await sleep(10);
  }
}

/**
 * dev's default build: no optimisation and full debug info, so a backtrace or
 * a debugger shows every line and variable as written, and the compile is
 * faster. Added after the target's flags through $CFLAGS and $CXXFLAGS (the
 * last -O wins); -U_FORTIFY_SOURCE because glibc warns that Debian's
 * -D_FORTIFY_SOURCE=2 needs optimisation. C gets -g3 (macros too); C++ -g:
 * the macro info of the standard library's headers made the info module's
 * compile 1.3 s instead of 0.85 s here, most of a C++ cycle. With the
 * precompiled header it is less but still paid every cycle: CPU 90-110 ms
 * against 80-90, a 375 KB .so against 138 (bench/RESULTS.md, #21's C++ round).
 */
export const DEBUG_FLAGS = {
  c: ['-O0', '-g3', '-U_FORTIFY_SOURCE'],
  cxx: ['-O0', '-g', '-U_FORTIFY_SOURCE'],
};

/**
 * A faster linker than GNU ld's default (bfd) when one is installed: mold,
 * lld or gold link a debug-built C++ module in a third of bfd's time (gold
 * 74 ms against bfd's 192 ms for the info module, measured under load).
 * mold first: the same CPU time as gold but spread over threads, so the
 * link ends sooner (the info module's link alone, load 7: 55-64 ms wall
 * against gold's 81-89, bfd 156-160). scripts/prereqs.sh installs it for
 * the tests and the bench. Only for dev's debug build; --release links as
 * the target does.
 */
export async function fastLinkerFlag(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  for (const l of ['mold', 'lld', 'gold'])
    if (await which([`ld.${l}`], env)) return [`-fuse-ld=${l}`];
  return [];
}

function debugBuildEnv(env: NodeJS.ProcessEnv, linker: string[]): NodeJS.ProcessEnv {
  const add = (v: string | undefined, flags: string[]) => [v, ...flags].filter(Boolean).join(' ');
  // $CXXFLAGS unset: C++ took $CFLAGS (flags.ts), so the developer's C flags still come first.
  return {
    ...env,
    CFLAGS: add(env.CFLAGS, DEBUG_FLAGS.c),
    CXXFLAGS: add(env.CXXFLAGS ?? env.CFLAGS, DEBUG_FLAGS.cxx),
    // Before the developer's $LDFLAGS: a -fuse-ld of theirs comes later and wins.
    LDFLAGS: [...linker, env.LDFLAGS].filter(Boolean).join(' '),
  };
}

/**
 * Crashes whose directory appeared since the last call: the recorder's (lib/ctl/crash-capture.ts),
 * explained.
 */
function crashWatch(sr: ServerRoot): { fresh(): Promise<Crash[]>; ready: Promise<void> } {
  const seen = new Set<number>();
  const ready = crashPids(sr).then((pids) => {
    for (const p of pids) seen.add(p);
  });
  return {
    ready,
    async fresh() {
      await ready;
      const only = new Set((await crashPids(sr)).filter((p) => !seen.has(p)));
      if (only.size === 0) return [];
      for (const p of only) seen.add(p);
      return (await listCrashes(sr, readCorePattern(), { only })).crashes;
    },
  };
}

async function runCycle(
  o: DevOptions,
  n: number,
  changed: string[],
  first: boolean,
  crashes: ReturnType<typeof crashWatch>,
  linker: string[],
): Promise<Cycle> {
  const t0 = nowMs();
  let step: CycleStep = 'build';
  const c: Cycle = { ok: false, cycle: n, changed, module: '', elapsedMs: 0 };
  const at = (s: CycleStep) => {
    step = s;
    o.onStep?.(s, n);
  };
  try {
    at('build');
    // Read again every cycle: a new source file, or a changed manifest, counts from this save on.
    const project = await readModuleProject(o.dir);
    c.module = project.module.stem;
    const tc = await toolchainForServer(o.sr);
    let t = nowMs();
    const b = await buildModule(project, tc, {
      env: o.release ? process.env : debugBuildEnv(process.env, linker),
      // httpd's, APR's (and C++'s) headers parsed once, not every save: lib/module/pch.ts.
      pch: true,
    });
    c.build = {
      so: b.so,
      upToDate: b.upToDate,
      compiled: b.compiled,
      warnings: b.warnings,
      ms: nowMs() - t,
      ...(b.pch ? { pch: b.pch } : {}),
    };
    failpoint('dev:before-install');
    at('install');
    t = nowMs();
    // The install's passing configtest is kept: the restart right after reuses it when no file
    // changed since. `built`: install copies this build, the one this cycle reports, and never
    // rebuilds it: a source saved since (during the build) would have made it rebuild with the
    // target's flags instead of dev's; that save is the next cycle's (the watcher queued it).
    const inst = await installProject(o.sr, project, tc, { proveConfig: true, built: b });
    c.installed = { changed: inst.changed, ms: nowMs() - t };
    at('restart');
    t = nowMs();
    const timeoutSec = o.timeoutSec ?? 30;
    const { running } = await serverState(o.sr, (await serverFiles(o.sr)).pidFile);
    let healthUrl: string | undefined;
    if (!running) {
      const r = await start(o.sr, { timeoutSec });
      c.server = { action: 'start', pid: r.pid, ms: nowMs() - t };
      healthUrl = r.healthUrl;
    } else if (inst.changed.length > 0 || first) {
      const before = new Set(o.graceful ? childrenOf(running.pid) : []);
      const r = await restart(o.sr, {
        graceful: o.graceful,
        timeoutSec,
        provenConfig: inst.configProof,
      });
      if (o.graceful && r.pid) await newGeneration(r.pid, before, nowMs() + timeoutSec * 1000);
      c.server = {
        action: r.action,
        pid: r.pid,
        ms: nowMs() - t,
        configtestReused: r.configtestReused === true,
      };
      healthUrl = r.healthUrl;
    } else {
      c.server = { action: 'none', pid: running.pid, ms: 0 };
    }
    at('request');
    healthUrl ??= (await serverFiles(o.sr)).healthUrl;
    if (!healthUrl)
      throw new ApxsError(
        'NOT_FOUND',
        'the server has no Listen address to request the module from',
      );
    c.request = await fetchPage(new URL(inst.location?.path ?? project.url, healthUrl).href);
    c.ok = c.request.status !== undefined && c.request.status < 500;
    if (!c.ok) {
      c.failedAt = 'request';
      // A request that found no answer: a child that died by a signal is the usual reason; its
      // backtrace says where.
      const died = await crashes.fresh();
      if (died.length) c.crashes = died;
    }
  } catch (e) {
    c.failedAt = step;
    c.error = errorOf(e);
  }
  c.elapsedMs = nowMs() - t0;
  return c;
}

/** Runs the first cycle, then one per save, until `signal` aborts. */
export async function devLoop(o: DevOptions): Promise<DevSummary> {
  let cycles = 0;
  let failed = 0;
  let queued: string[] | undefined;
  let busy: Promise<void> | undefined;
  const crashes = crashWatch(o.sr);
  await crashes.ready;
  const linker = o.release ? [] : await fastLinkerFlag();
  const cycle = (changed: string[]) => {
    if (busy) {
      // Saved while a cycle runs: one more cycle afterwards, with every file saved meanwhile.
      queued = [...new Set([...(queued ?? []), ...changed])];
      return;
    }
    busy = (async () => {
      for (
        let files: string[] | undefined = changed;
        files && !o.signal.aborted;
        files = queued, queued = undefined
      ) {
        const c = await runCycle(o, ++cycles, files, cycles === 1, crashes, linker);
        if (!c.ok) failed++;
        o.onCycle(c);
        o.onStep?.('waiting', cycles);
      }
      busy = undefined;
    })();
  };
  // A directory that is no module fails here, not as a first cycle that waits for saves that cannot
  // help.
  await readModuleProject(o.dir);
  const watcher = await watchSaves(o.dir, o.debounceMs ?? 20, cycle);
  // Crashes from requests dev did not make (a browser, curl) are reported as they come, between
  // cycles.
  let polling = false;
  const poll = setInterval(() => {
    if (busy || polling || !o.onCrash) return;
    polling = true;
    crashes
      .fresh()
      .then(
        (cs) => {
          for (const c of cs) o.onCrash?.(c);
        },
        () => undefined,
      )
      .finally(() => {
        polling = false;
      });
  }, 500);
  try {
    cycle([]);
    await new Promise<void>((resolve) => {
      if (o.signal.aborted) resolve();
      o.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    watcher.close();
    clearInterval(poll);
  }
  await busy;
  let serverStopped = false;
  if (o.stopServer) {
    await stop(o.sr, { timeoutSec: o.timeoutSec }).then(
      () => (serverStopped = true),
      (e: unknown) => {
        if (!(e instanceof ApxsError && e.code === 'NOT_RUNNING')) throw e;
      },
    );
  }
  return { cycles, failed, serverStopped };
}

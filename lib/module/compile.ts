/**
 * `apxs-ts build`: compiles a module directory into mod_NAME.so, like
 * `apxs -c` but without libtool, in one compiler call per source (several
 * at once for a multi-file module, then one link), and only when a source,
 * a header it includes, the flags or the compiler changed. C++ sources are
 * compiled with the C++ compiler, and a module with any is linked with it.
 * The .so is then checked as httpd will load it: its record exported, and
 * every undefined symbol provided by httpd or a library it loads.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NotElf64Error, readDynamic } from './elf.js';
import { notALink, writeFileAtomic } from '../core/atomic-file.js';
import { ApxsError, isErrno } from '../core/errors.js';
import { flagWords, mkToWrite, syncMk } from './flags.js';
import { checkModuleApi, CXX_EXT, sanitizerFlags, type ModuleProject } from './project.js';
import { lastLines, runCapture, type RunResult } from '../core/run.js';
import {
  readStamp,
  same,
  statKey,
  unitInputs,
  unitIsFresh,
  type FileKey,
  type Stamp,
  type Unit,
} from './stamp.js';
import type { Toolchain } from './toolchain.js';
import { nowMs } from '../core/proc.js';
import { lockHeld, withLock } from '../core/lock.js';
import { failpoint } from '../core/failpoint.js';
import { withIncludeHint } from './compile-hints.js';
import { buildPch, findPch, pchPlan } from './pch.js';

export {
  checkModuleApi,
  readModuleProject,
  updateModuleFlags,
  type ModuleProject,
} from './project.js';
export { parseDepFile } from './stamp.js';

export interface BuildResult {
  so: string;
  symbol: string;
  upToDate: boolean;
  compiled: string[];
  linkedWith: string;
  /**
   * The compiler's and linker's warning lines in this build (all their output is in
   * .apxs-ts/build.log).
   */
  warnings: string[];
  /**
   * Undefined symbols that are not errors: declared by the module itself, or exported by another
   * module.
   */
  symbolNotes: string[];
  /** .apxs-ts/build.log. */
  log: string;
  durationMs: number;
  /** With `pch`: per source compiled, what its precompiled header did (lib/module/pch.ts). */
  pch?: Record<string, PchState>;
}

/**
 * used: compiled with a valid one; built: none was valid, compiled without
 * and one made beside it for the next build; unbuilt: that making failed
 * (build.log says why); fallback: the compile with it failed and the one
 * without decided.
 */
export type PchState = 'used' | 'built' | 'unbuilt' | 'fallback';

export interface BuildOptions {
  force?: boolean;
  jobs?: number;
  /**
   * Where CFLAGS, CPPFLAGS, CXXFLAGS, LDFLAGS and LIBS are taken from (default: this process's).
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Compile with a precompiled header of the source's leading #includes, made when missing (dev's
   * loop).
   */
  pch?: boolean;
  /** Decide whether a build is needed (and of what), compile and write nothing (#23's --check). */
  check?: boolean;
}

/**
 * `dir` as a directory of apxs-ts's own: made when missing, refused (UNSAFE_CONFIG) when a symlink
 * or no directory.
 */
async function ownDir(dir: string): Promise<void> {
  await fs.mkdir(dir).catch((err: unknown) => {
    if (!isErrno(err, 'EEXIST')) throw err;
  });
  await notALink(dir);
}

function compileFailure(res: RunResult, logFile: string): ApxsError {
  // The compiler's own words, not a summary of them.
  const errors = res.all
    .split('\n')
    .filter((l) => /\b(error|fatal error|undefined reference)\b/.test(l)).length;
  return new ApxsError(
    'COMPILE_FAILED',
    `compilation failed (${errors || 'no'} error line${errors === 1 ? '' : 's'}; ` +
      `${res.command.split(' ')[0]} exited ${res.exitCode})`,
    {
      details: [...lastLines(res.all, 40), `full log: ${logFile}`],
      data: { command: res.command, exitCode: res.exitCode, log: logFile, output: res.all },
    },
  );
}

function exportFailure(project: ModuleProject, tc: Toolchain, so: string): ApxsError {
  return new ApxsError(
    'NO_MODULE_SYMBOL',
    `${path.basename(so)} does not export ${project.module.symbol}`,
    {
      // httpd's LoadModule looks the record up by this exact name.
      hint:
        'define the module record as a global, not static and not inside a namespace: ' +
        `${project.cpp ? 'extern "C" ' : ''}${
          tc.target.api === '1.3'
            ? `module MODULE_VAR_EXPORT ${project.module.symbol} = { STANDARD_MODULE_STUFF, ... };`
            : `module AP_MODULE_DECLARE_DATA ${project.module.symbol} ` +
              '= { STANDARD20_MODULE_STUFF, ... };'
        }`,
    },
  );
}

/**
 * How long a build waits for another build of the same directory (a cold C++ build can take
 * minutes).
 */
const BUILD_LOCK_WAIT_MS = 10 * 60_000;

/**
 * Builds in one module directory take turns: they share the objects, the
 * dependency files, the stamp and the .so, so two at once would link each
 * other's half-written objects. The lock is beside the .so (`mod_X.so.apxs-ts.lock`),
 * so that taking it also removes the temp .so a killed build left
 * (`.mod_X.so.apxs-ts-PID-*.tmp`, PID dead: see lib/core/lock.ts).
 */
export async function buildModule(
  project: ModuleProject,
  tc: Toolchain,
  opts: BuildOptions = {},
): Promise<BuildResult> {
  const so = path.join(project.dir, `${project.module.stem}.so`);
  const lockFile = `${so}.apxs-ts.lock`;
  if (opts.check) {
    // --check takes no lock (taking it writes a lock file: a check writes nothing, and
    // may run where it cannot write); it waits, reading only, while a live build holds it.
    const deadline = Date.now() + BUILD_LOCK_WAIT_MS;
    while (Date.now() < deadline && (await lockHeld(lockFile)))
      await new Promise((r) => setTimeout(r, 50));
    return buildLocked(project, tc, opts);
  }
  // Nothing to do: said without the lock (taking it creates and removes a file in the module
  // directory, changing its mtime), when no live build holds it. Safe without it: "up to date"
  // needs the stamp to match the sources and the .so, and a build writes the stamp last, after
  // its .so is in place; one half done reads as stale, and is built under the lock as before.
  if (!opts.force && !(await lockHeld(lockFile))) {
    const planned = await buildLocked(project, tc, { ...opts, check: true });
    const mk = () =>
      mkToWrite(project.dir, project.flags, project.sourcesListed ? project.sources : undefined);
    if (planned.upToDate && (await mk()) === undefined) return planned;
  }
  return withLock(lockFile, () => buildLocked(project, tc, opts), BUILD_LOCK_WAIT_MS);
}

async function buildLocked(
  project: ModuleProject,
  tc: Toolchain,
  opts: BuildOptions,
): Promise<BuildResult> {
  const started = nowMs();
  checkModuleApi(project, tc);
  const fw = flagWords(project.flags, opts.env ?? process.env);
  const work = path.join(project.dir, '.apxs-ts');
  const logFile = path.join(work, 'build.log');
  const so = path.join(project.dir, `${project.module.stem}.so`);
  // Compile into a temp name and rename: rewriting a .so that a running httpd
  // has mapped would crash it; a rename leaves the old inode intact. The name
  // is this run's own (pid + random), in the form the lock's leftover sweep knows. Math.random,
  // not node:crypto: a unique name needs no more, and a no-op build should not load crypto.
  const random = Math.random().toString(16).slice(2, 10);
  const tmpSo = path.join(
    project.dir,
    `.${path.basename(so)}.apxs-ts-${process.pid}-${random}.tmp`,
  );
  const stampFile = path.join(work, 'build.json');
  const linker = project.cpp ? tc.cxx : tc.cc;
  const single = project.sources.length === 1;
  const isCxx = (src: string) => (single ? project.cpp : CXX_EXT.test(src));
  const compilerOf = (src: string) => (isCxx(src) ? tc.cxx : tc.cc);
  const objOf = (src: string) => (single ? so : path.join(work, 'obj', `${src}.o`));
  const depOf = (src: string) => path.join(work, 'obj', `${src}.d`);
  // One source: compile and link in one call. Several: compile each, then link.
  // apxs's order: its flags, the module's (-I -D -Wc), the environment's; libraries after the
  // objects.
  const san = sanitizerFlags(project.sanitize);
  const unitFlags = (src: string) => [
    ...(isCxx(src) ? tc.cxxflags : tc.cflags),
    ...fw.compile(isCxx(src)),
    ...san.compile,
  ];
  // `pch`: the stub whose .gch replaces the source's leading #includes (lib/module/pch.ts).
  const compileArgs = (src: string, pch?: string) => [
    ...unitFlags(src),
    ...(pch ? ['-include', pch] : []),
    ...(single ? [...tc.ldflags, ...fw.link, ...san.link] : ['-c']),
    '-MMD',
    '-MF',
    depOf(src),
    '-o',
    single ? tmpSo : objOf(src),
    path.join(project.dir, src),
    ...(single ? [...fw.libs, ...san.libs] : []),
  ];
  const linkArgs = [
    ...tc.ldflags,
    ...fw.link,
    ...san.link,
    '-o',
    tmpSo,
    ...project.sources.map(objOf),
    ...fw.libs,
    ...san.libs,
  ];
  // The command line as the stamp remembers it: the temp name is this run's own, so it is
  // recorded as the fixed name earlier versions used, or no build would ever be up to date.
  const line = (cmd: string, args: string[]) =>
    [cmd, ...args].join(' ').split(tmpSo).join(`${so}.apxs-ts-tmp`);

  // The Makefile's copy of the flags follows the manifest, built or not (not under --check: it
  // writes nothing).
  if (!opts.check)
    await syncMk(project.dir, project.flags, project.sourcesListed ? project.sources : undefined);
  const old = opts.force ? undefined : readStamp(stampFile, tc.key);
  const stale: string[] = [];
  for (const src of project.sources) {
    if (!unitIsFresh(old?.units[src], line(compilerOf(src), compileArgs(src)), objOf(src)))
      stale.push(src);
  }
  const linkFresh =
    single || (old?.link?.argv === line(linker, linkArgs) && same(so, old.link.output));
  const result = { so, symbol: project.module.symbol, linkedWith: linker, log: logFile };
  if ((stale.length === 0 && linkFresh) || opts.check) {
    const upToDate = stale.length === 0 && linkFresh;
    return {
      ...result,
      upToDate,
      // Under --check: what a real build would compile (the link alone when only it is stale).
      compiled: upToDate ? [] : stale,
      warnings: [],
      symbolNotes: [],
      durationMs: nowMs() - started,
    };
  }

  // A module project is often a cloned repository, and git keeps symlinks: .apxs-ts,
  // its obj/, the log and the stamp are apxs-ts's own, never followed elsewhere.
  await ownDir(work);
  await ownDir(path.join(work, 'obj'));
  for (const s of stale) {
    // obj/SUB/ for a source in a subdirectory: each level apxs-ts's own too.
    const levels = path
      .relative(path.join(work, 'obj'), path.dirname(depOf(s)))
      .split(path.sep)
      .filter((l) => l && l !== '.');
    let d = path.join(work, 'obj');
    for (const level of levels) {
      d = path.join(d, level);
      await ownDir(d);
    }
  }
  await fs.rm(logFile, { force: true }); // a link there goes, not its target
  await fs.writeFile(logFile, '', { flag: 'wx' });
  const warnings: string[] = [];
  /**
   * Runs one compile or link; a failure throws, unless `soft` (then false, and its warnings are not
   * kept).
   */
  const runStep = async (cmd: string, args: string[], soft = false): Promise<boolean> => {
    const res = await runCapture(cmd, args, { cwd: project.dir });
    await fs.appendFile(
      logFile,
      `$ ${res.command}\n` +
        `${res.all}${res.all.endsWith('\n') || !res.all ? '' : '\n'}[exit ${res.exitCode}]\n`,
    );
    if (res.exitCode === 0 || !soft)
      warnings.push(...res.all.split('\n').filter((l) => /\bwarning:/.test(l)));
    if (res.exitCode === 0) return true;
    if (soft) return false;
    throw await withIncludeHint(compileFailure(res, logFile), res.all, tc.includeDirs, project.dir);
  };
  const pchStates: Record<string, PchState> = {};
  const pchInputs: Record<string, Unit['inputs']> = {};
  /**
   * One unit's compile (and link, for one source), with a precompiled header when asked and it
   * applies.
   */
  const compileUnit = async (src: string, cmd: string) => {
    const plan = opts.pch
      ? await pchPlan(
          path.join(project.dir, src),
          compilerOf(src),
          unitFlags(src),
          isCxx(src) ? 'c++' : 'c',
          tc.key,
        )
      : undefined;
    if (!plan) return void (await runStep(cmd, compileArgs(src)));
    const hit = await findPch(plan);
    if (hit) {
      if (await runStep(cmd, compileArgs(src, hit.stub), true)) {
        pchStates[src] = 'used';
        pchInputs[src] = hit.inputs;
        return;
      }
      // Whatever went wrong with it, the compile without it answers: its error is the one reported.
      pchStates[src] = 'fallback';
      return void (await runStep(cmd, compileArgs(src)));
    }
    // None yet: this compile goes without, and the header is made beside it for the next one.
    const [compiled, made] = await Promise.allSettled([
      runStep(cmd, compileArgs(src)),
      buildPch(plan, project.dir),
    ]);
    const pchLog = made.status === 'fulfilled' ? made.value.log : `${String(made.reason)}\n`;
    await fs.appendFile(logFile, `# precompiled header for ${src}\n${pchLog}`);
    pchStates[src] = made.status === 'fulfilled' && made.value.ok ? 'built' : 'unbuilt';
    if (compiled.status === 'rejected') throw compiled.reason;
  };
  const units: Record<string, Unit> = { ...(old?.units ?? {}) };
  // What each stale unit's inputs were as the compile began: a source or header saved while the
  // compiler ran is recorded as it was then (so the next build compiles it), not as it is after,
  // or every later build would call a .so made from the earlier text up to date.
  const inputsBefore = new Map<string, FileKey | undefined>();
  for (const src of stale)
    for (const f of [path.join(project.dir, src), ...Object.keys(old?.units[src]?.inputs ?? {})])
      inputsBefore.set(f, statKey(f));
  const compileStarted = Date.now();
  let symbolNotes: string[] = [];
  try {
    if (single) {
      await compileUnit(project.sources[0]!, linker);
    } else {
      const queue = [...stale];
      const jobs = Math.min(Math.max(1, opts.jobs ?? os.availableParallelism()), queue.length);
      await Promise.all(
        Array.from({ length: jobs }, async () => {
          for (let s = queue.shift(); s !== undefined; s = queue.shift())
            await compileUnit(s, compilerOf(s));
        }),
      );
      await runStep(linker, linkArgs);
    }
    const dyn = await readDynamic(tmpSo).catch((err: unknown) =>
      err instanceof NotElf64Error ? undefined : Promise.reject(err),
    );
    // Not an ELF64 file (a 32-bit build): nothing to read it with, httpd will say at LoadModule.
    if (dyn) {
      if (!dyn.defined.has(project.module.symbol)) throw exportFailure(project, tc, so);
      // Required here, not at the top: a no-op build never loads the symbol check.
      const { verifySymbols } =
        require('./verify-symbols.js') as typeof import('./verify-symbols.js');
      symbolNotes = await verifySymbols(project, tc, tmpSo, dyn, path.basename(so), warnings);
    }
    failpoint('build:before-rename');
    await fs.rename(tmpSo, so);
  } catch (err) {
    await fs.rm(tmpSo, { force: true });
    throw err;
  }
  for (const src of stale) {
    const inputs = {
      ...(pchInputs[src] ?? {}),
      ...(await unitInputs(path.join(project.dir, src), depOf(src), project.dir)),
    };
    for (const [f, now] of Object.entries(inputs)) {
      const then = inputsBefore.get(f);
      // A header first seen now: changed during the compile if its mtime is not older than it
      // (less a clock tick: file times come from a coarser clock than Date.now).
      const changed = inputsBefore.has(f)
        ? !then || then[0] !== now[0] || then[1] !== now[1]
        : now[0] >= compileStarted - 50;
      if (changed) inputs[f] = [0, 0];
    }
    units[src] = {
      // Recorded without the -include: a build with the header and one without make the same
      // object.
      argv: line(compilerOf(src), compileArgs(src)),
      // With the header, -MMD names only the source's own #includes: what the header was made of
      // counts too.
      inputs,
      output: [0, 0],
    };
  }
  for (const src of project.sources) units[src]!.output = statKey(objOf(src))!;
  for (const src of Object.keys(units)) if (!project.sources.includes(src)) delete units[src];
  const stamp: Stamp = {
    version: 2,
    toolchain: tc.key,
    units,
    ...(single ? {} : { link: { argv: line(linker, linkArgs), output: statKey(so)! } }),
  };
  // Not fsynced: the .so it describes was not either (a rename), and a stamp lost or older than
  // the .so after a crash only means the next build compiles again (its output key no longer
  // matches). Two fsyncs fewer between dev's save and its restart.
  await writeFileAtomic(stampFile, JSON.stringify(stamp), { replaceName: true, durable: false });
  return {
    ...result,
    upToDate: false,
    compiled: stale,
    warnings,
    symbolNotes,
    durationMs: nowMs() - started,
    ...(opts.pch ? { pch: pchStates } : {}),
  };
}

/**
 * `source build` under faults (#16, the smaller items): apxs-ts killed with
 * SIGKILL inside make and inside make install (failpoints): within 2 s no
 * process of that build is left, and the prefix is absent (make install
 * goes to a staging directory that is renamed into place with its receipt);
 * the work dir is inside --cache-dir; a tarball with no ./configure is "not
 * an httpd source tree", and a FIFO or device entry is UNSAFE_ARCHIVE naming
 * it. The kills use httpd 1.3.42, the fastest release to build.
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import { extractTarball } from '../../lib/source/extract.js';
import { CLI, cli, tmpDir } from '../helpers.js';
import { makeTarGz } from '../tar-writer.js';

const ARCHIVE = path.resolve(__dirname, '..', '..', '..', 'shared', 'archive', 'httpd');
const KEYS = path.join(ARCHIVE, 'KEYS');

/** Live (not zombie) processes whose working directory is under `dir`, with their command names. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((f) => /^\d+$/.test(f))) {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd !== dir && !cwd.startsWith(`${dir}/`)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue;
      found.push(`${pid} ${/\((.*)\)/.exec(stat)?.[1] ?? '?'}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Runs `source build` with a failpoint; resolves when apxs-ts has died, with what was running under the cache at that moment. */
function buildKilledAt(step: string, work: string, prefix: string, cache: string) {
  const mark = path.join(work, `mark-${step.replace(/[:@]/g, '_')}`);
  return new Promise<{
    signal: NodeJS.Signals | null;
    atKill: string[];
    mark: string;
    stderr: string;
  }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'source',
        'build',
        '1.3.42',
        '--prefix',
        prefix,
        '--port',
        '18099',
        '--jobs',
        '2',
        '--mirror',
        ARCHIVE,
        '--keys',
        KEYS,
        '--cache-dir',
        cache,
      ],
      {
        env: { ...process.env, CI: 'true', APXS_TS_FAILPOINT: step, APXS_TS_FAILPOINT_MARK: mark },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (_code, signal) => {
      const atKill = processesUnder(cache);
      void fs.readFile(mark, 'utf8').then(
        (m) => resolve({ signal, atKill, mark: m.trim(), stderr }),
        () => resolve({ signal, atKill, mark: '', stderr }),
      );
    });
  });
}

async function noneLeftWithin(dir: string, ms: number): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = processesUnder(dir);
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A process that is running (not a zombie). */
const running = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('the phase guard', () => {
  it('a phase whose processes write nothing (so no SIGPIPE ends them) is ended within 2 s of a SIGKILL of apxs-ts', async () => {
    const work = await tmpDir('apxs-ts-guard-');
    const pids = path.join(work, 'pids');
    // runPhase from the build, in a process of its own that the test kills: make with a
    // background "compiler" (sleep) and a quiet foreground one, as make -j has.
    const script = `
      const { runPhase } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'dist', 'lib', 'source', 'phase.js'))});
      runPhase('make', 'sh', ['-c', 'sleep 300 & a=$!; sleep 301 & echo "$a $!" > ${pids}.tmp; mv ${pids}.tmp ${pids}; wait'],
        { cwd: ${JSON.stringify(work)}, logFile: ${JSON.stringify(path.join(work, 'make.log'))} }).catch(() => {});`;
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    let sleepers: number[] = [];
    for (const until = Date.now() + 20_000; Date.now() < until && sleepers.length === 0; ) {
      sleepers = await fs.readFile(pids, 'utf8').then(
        (t) => t.trim().split(' ').map(Number),
        () => [],
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sleepers).toHaveLength(2);
    expect(sleepers.every(running)).toBe(true);
    const died = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await died;
    const until = Date.now() + 2000;
    while (sleepers.some(running) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    const left = sleepers.filter(running);
    for (const p of left) process.kill(p, 'SIGKILL'); // the test's own cleanup when it fails
    expect(left).toEqual([]);
  });
});

describe('source build killed with SIGKILL', () => {
  it.each(['source:make-line@20', 'source:make-install-line@30'])(
    'at %s: no make or compiler outlives it by 2 s, and the prefix is absent',
    async (step) => {
      const work = await tmpDir('apxs-ts-srckill-');
      const prefix = path.join(work, 'apache13');
      const cache = path.join(work, 'cache');
      const r = await buildKilledAt(step, work, prefix, cache);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(r.mark).toBe(step);
      // There was a build to end: make (and its shells or compilers) ran when apxs-ts died.
      expect(r.atKill.length, 'processes under the cache dir at the kill').toBeGreaterThan(0);
      expect(await noneLeftWithin(cache, 2000)).toEqual([]);
      // And they stay gone (nothing finishes make install later into the prefix).
      await new Promise((res) => setTimeout(res, 1500));
      expect(processesUnder(cache)).toEqual([]);
      expect(
        await fs.stat(prefix).then(
          () => 'exists',
          () => 'absent',
        ),
      ).toBe('absent');
      // What a killed install leaves is its staging dir beside the prefix; nothing else is in the parent.
      const beside = (await fs.readdir(work)).filter(
        (f) => !['cache'].includes(f) && !f.startsWith('mark-'),
      );
      for (const f of beside) expect(f).toMatch(/^\.apache13\.apxs-ts-stage-\d+-\w+$/);
      expect(beside.length).toBe(step.startsWith('source:make-install') ? 1 : 0);
    },
    300_000,
  );
});

describe('source build killed after the receipt, before the move', () => {
  it('leaves no prefix; the next build sweeps the staging dir and installs a complete prefix with its receipt', async () => {
    const work = await tmpDir('apxs-ts-srcmove-');
    const prefix = path.join(work, 'apache13');
    const cache = path.join(work, 'cache');
    const r = await buildKilledAt('source:before-move', work, prefix, cache);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(r.mark).toBe('source:before-move');
    expect(
      await fs.stat(prefix).then(
        () => 'exists',
        () => 'absent',
      ),
    ).toBe('absent');
    const stages = (await fs.readdir(work)).filter((f) => f.includes('.apxs-ts-stage-'));
    expect(stages).toHaveLength(1);
    // Staged complete, receipt included: only the rename was missing.
    expect(
      JSON.parse(
        await fs.readFile(path.join(work, stages[0]!, prefix, 'apxs-ts-receipt.json'), 'utf8'),
      ).version,
    ).toBe('1.3.42');

    const ok = await cli(
      [
        'source',
        'build',
        '1.3.42',
        '--prefix',
        prefix,
        '--port',
        '18099',
        '--jobs',
        '2',
        '--mirror',
        ARCHIVE,
        '--keys',
        KEYS,
        '--cache-dir',
        cache,
        '--json',
      ],
      { timeoutMs: 280_000 },
    );
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(
      JSON.parse(await fs.readFile(path.join(prefix, 'apxs-ts-receipt.json'), 'utf8')).version,
    ).toBe('1.3.42');
    expect(await fs.readFile(path.join(prefix, 'conf', 'httpd.conf'), 'utf8')).toContain(
      'Listen 127.0.0.1:18099',
    );
    expect((await fs.readdir(work)).filter((f) => f.includes('.apxs-ts-stage-'))).toEqual([]);
    // Installed with 1.3's root= into the stage, the prefix compiled in is still the real one.
    expect(execFileSync(path.join(prefix, 'bin', 'httpd'), ['-V'], { encoding: 'utf8' })).toContain(
      `HTTPD_ROOT="${prefix}"`,
    );
  }, 600_000);
});

describe('source build: where it writes, and what it refuses', () => {
  it('a tarball without ./configure is not an httpd source tree (BAD_INPUT), and the work dir is inside --cache-dir', async () => {
    const work = await tmpDir('apxs-ts-srcfault-');
    const mirror = path.join(work, 'mirror');
    await fs.mkdir(mirror);
    await fs.writeFile(
      path.join(mirror, 'httpd-2.4.68.tar.gz'),
      makeTarGz([
        { name: 'httpd-2.4.68/', type: 'dir' },
        { name: 'httpd-2.4.68/README', content: 'not httpd\n' },
      ]),
    );
    const cache = path.join(work, 'x', 'c');
    const r = await cli([
      'source',
      'build',
      '2.4.68',
      '--prefix',
      path.join(work, 'p'),
      '--mirror',
      mirror,
      '--cache-dir',
      cache,
      '--insecure',
      '--json',
    ]);
    expect(r.code, r.stdout).toBe(2);
    expect(r.json.error.code).toBe('BAD_INPUT');
    expect(r.json.error.message).toBe(
      'httpd-2.4.68.tar.gz is not an httpd source tree: httpd-2.4.68/ has no configure script',
    );
    expect(r.json.error.hint).not.toMatch(/PATH/);
    expect(r.json.workDir.startsWith(`${cache}/build/`)).toBe(true);
    // Nothing beside the cache dir: /x/c never makes /x/build.
    expect((await fs.readdir(path.join(work, 'x'))).sort()).toEqual(['c']);
    expect(
      await fs.stat(path.join(work, 'p')).then(
        () => 'exists',
        () => 'absent',
      ),
    ).toBe('absent');
  });

  it.each([
    ['fifo', 'a FIFO (named pipe)'],
    ['chardev', 'a character device'],
    ['blockdev', 'a block device'],
  ] as const)(
    'a %s entry in a tarball is UNSAFE_ARCHIVE naming the entry and its type, and nothing is kept',
    async (type, said) => {
      const work = await tmpDir('apxs-ts-srcfifo-');
      const tgz = path.join(work, 'httpd-2.4.68.tar.gz');
      await fs.writeFile(
        tgz,
        makeTarGz([
          { name: 'httpd-2.4.68/', type: 'dir' },
          { name: 'httpd-2.4.68/configure', content: '#!/bin/sh\n' },
          { name: 'httpd-2.4.68/srclib/pipe', type },
        ]),
      );
      const err = await extractTarball(tgz, path.join(work, 'src')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApxsError);
      expect((err as ApxsError).code).toBe('UNSAFE_ARCHIVE');
      expect((err as ApxsError).details).toEqual([
        `httpd-2.4.68/srclib/pipe (${said}, not a file, directory or link)`,
      ]);
      expect((err as ApxsError).hint ?? '').not.toMatch(/truncated or corrupt/);
      expect(
        await fs.stat(path.join(work, 'src')).then(
          () => 'exists',
          () => 'absent',
        ),
      ).toBe('absent');
    },
  );
});

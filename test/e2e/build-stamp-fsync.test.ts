/**
 * `build`'s stamp (.apxs-ts/build.json) is a cache: written atomically (temp + rename) but not
 * fsynced, two fsyncs fewer between dev's save and its restart (#21). What shows it: strace's
 * record of every fsync a real build makes (the test is skipped without strace), and a second
 * build that finds the stamp and compiles nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli, tmpDir } from '../helpers.js';

const hasStrace = spawnSync('strace', ['-V']).status === 0;

describe.skipIf(!hasStrace)('build stamp', () => {
  it('is renamed into place with no fsync of it or of its directory; the next build is a no-op', async () => {
    const dir = await tmpDir('apxs-ts-stampsync-');
    expect((await cli(['new', 'stampy', '--template', 'hello'], { cwd: dir })).code).toBe(0);
    const mod = path.join(dir, 'mod_stampy');
    const log = path.join(dir, 'strace.txt');
    // -y names each descriptor's file: the fsyncs of the stamp's temp name and of .apxs-ts/.
    execFileSync(
      'strace',
      [
        '-f',
        '-y',
        '-e',
        'trace=fsync,fdatasync,rename',
        '-o',
        log,
        process.execPath,
        CLI,
        'build',
        mod,
      ],
      {
        stdio: 'ignore',
      },
    );
    const lines = (await fs.readFile(log, 'utf8')).split('\n');
    const renamed = lines.filter((l) => /rename\(.*\.build\.json\..*build\.json"/.test(l));
    expect(renamed).toHaveLength(1);
    const synced = lines.filter((l) => /fsync|fdatasync/.test(l));
    expect(synced.filter((l) => /build\.json|\/\.apxs-ts>/.test(l))).toEqual([]);
    const stamp = JSON.parse(await fs.readFile(path.join(mod, '.apxs-ts', 'build.json'), 'utf8'));
    expect(stamp.version).toBe(2);
    const again = await cli(['build', mod, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).upToDate).toBe(true);
  });
});

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

  it('what a crash can leave of an unsynced stamp (torn, gone, a build older or newer than the .so) makes the next build compile', async () => {
    const dir = await tmpDir('apxs-ts-stamplost-');
    expect((await cli(['new', 'lost', '--template', 'hello'], { cwd: dir })).code).toBe(0);
    const mod = path.join(dir, 'mod_lost');
    const stampFile = path.join(mod, '.apxs-ts', 'build.json');
    const build = async () => {
      const r = await cli(['build', mod, '--json']);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as { upToDate: boolean; compiled: string[] };
    };
    await build();
    const older = await fs.readFile(stampFile);
    const so = path.join(mod, 'mod_lost.so');
    const olderSo = `${dir}/older.so`;
    await fs.copyFile(so, olderSo);
    const soTime = (await fs.stat(so)).mtime;
    await fs.utimes(olderSo, soTime, soTime);
    // A second build of a changed source: the .so now newer than the stamp kept above.
    const src = path.join(mod, 'mod_lost.c');
    await fs.appendFile(src, '\n/* changed */\n');
    expect((await build()).compiled).toEqual(['mod_lost.c']);
    expect((await build()).upToDate).toBe(true);
    const current = await fs.readFile(stampFile);
    const leftovers: Array<[string, () => Promise<void>]> = [
      ['torn', () => fs.writeFile(stampFile, current.subarray(0, current.length >> 1))],
      ['empty', () => fs.writeFile(stampFile, '')],
      ['gone', () => fs.rm(stampFile)],
      ['older than the .so', () => fs.writeFile(stampFile, older)],
      [
        'newer than the .so (the .so of the build before)',
        async () => {
          await fs.writeFile(stampFile, current);
          await fs.copyFile(olderSo, so);
          await fs.utimes(so, soTime, soTime);
        },
      ],
    ];
    for (const [what, leave] of leftovers) {
      await leave();
      const r = await build();
      expect({ what, upToDate: r.upToDate, compiled: r.compiled }).toEqual({
        what,
        upToDate: false,
        compiled: ['mod_lost.c'],
      });
      expect((await build()).upToDate).toBe(true);
    }
  });
});

/**
 * Why an edit with nothing to do still decides under the root's config lock
 * (RELIABILITY.md, "concurrent process commands and no-op runs"): while a
 * real edit holds the lock with its files written but not yet judged by
 * httpd (failpoint edit:before-configtest, wait mode), the same command must
 * not say "already there" from those files. It waits for the lock; the edit
 * is then killed, and the waiting run undoes it and makes the change itself.
 * A lock-free no-op path without the lock and journal checks failed this test.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cli, HOSTS_START, newSandbox } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const roots: string[] = [];
afterEach(async () => {
  for (const sr of roots.splice(0)) await cli(['sandbox', 'remove', sr]);
});

describe('a no-op run beside an unfinished edit', () => {
  it('vhost add while the same vhost add holds the lock before its configtest (3 rounds): waits, then changed true; the vhost there once and configtest passes', async () => {
    let rounds = 0;
    for (let round = 0; round < 3; round++) {
      const { work, sr } = await newSandbox(roots);
      const hosts = path.join(work, 'hosts');
      await fs.writeFile(hosts, HOSTS_START);
      const mark = path.join(work, 'mark');
      const args = ['vhost', 'add', 'one.test', '--server-root', sr, '--hosts-file', hosts];
      const first = spawn(process.execPath, [CLI, ...args, '--json'], {
        stdio: 'ignore',
        env: {
          ...process.env,
          APXS_TS_FAILPOINT: 'edit:before-configtest',
          APXS_TS_FAILPOINT_MARK: mark,
          APXS_TS_FAILPOINT_MODE: 'wait',
        },
      });
      const exited = new Promise((resolve) => first.on('exit', resolve));
      while (!(await fs.readFile(mark, 'utf8').catch(() => ''))) await sleep(20);
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe('edit:before-configtest');
      // The edit's files are on disk, uncommitted: read alone they say the vhost is there.
      expect(await fs.readFile(hosts, 'utf8')).toContain('one.test');
      const second = cli([...args, '--json']);
      await sleep(500);
      first.kill('SIGKILL');
      await exited;
      const r = await second;
      expect(r.code, `round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
      // Had it answered from the unfinished edit: changed false, and the kill's undo would leave
      // no vhost.
      expect(r.json.changed, `round ${round}`).toBe(true);
      expect(await fs.readFile(hosts, 'utf8')).toMatch(/^127\.0\.0\.1 one\.test$/m);
      const conf = await fs.readFile(path.join(sr, 'conf', 'apxs-ts-vhosts.conf'), 'utf8');
      expect(conf.match(/ServerName one\.test/g)).toHaveLength(1);
      expect((await cli(['ctl', 'configtest', '--server-root', sr])).code).toBe(0);
      rounds++;
    }
    expect(rounds).toBe(3);
  }, 300_000);
});

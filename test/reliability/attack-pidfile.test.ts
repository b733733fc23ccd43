/**
 * The pid file as the /proc readers' async side reads it (lib/core/proc.ts
 * readPidFile, #19's honest I/O): a pid file that is a FIFO hung `ctl status`
 * for ever (an async read of a FIFO waits for a writer), one that is a link to
 * /dev/zero was read until ~600 MB. A pid file is a few bytes of a regular
 * file: anything else holds no pid, and the command ends.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, newSandbox, ROOT } from '../helpers.js';

describe('a pid file that is not a small regular file', () => {
  it('a FIFO: ctl status ends (exit 3, not running) instead of hanging', async () => {
    const { sr } = await newSandbox();
    execFileSync('mkfifo', [path.join(sr, 'logs', 'httpd.pid')]);
    const r = await cli(['ctl', 'status', '--server-root', sr, '--timeout', '2'], {
      timeoutMs: 15_000,
    });
    expect(r.code, r.stderr).toBe(3);
  }, 30_000);

  it('a link to /dev/zero, a FIFO, a 1 GB file: no pid, read bounded (peak RSS well below)', async () => {
    const { work } = await newSandbox();
    const zero = path.join(work, 'zero.pid');
    await fs.symlink('/dev/zero', zero);
    const fifo = path.join(work, 'fifo.pid');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(work, 'big.pid');
    await fs.writeFile(big, '123');
    await fs.truncate(big, 1 << 30);
    const code = `const { readPidFile } = require(${JSON.stringify(path.join(ROOT, 'dist/lib/core/proc.js'))});
      Promise.all(process.argv.slice(1).map(readPidFile)).then((pids) =>
        process.stdout.write(JSON.stringify({ pids, rss: process.resourceUsage().maxRSS })));`;
    const r = spawnSync(process.execPath, ['-e', code, zero, fifo, big], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.signal, 'the read hung until the child was killed').toBeNull();
    const out = JSON.parse(r.stdout) as { pids: (number | null)[]; rss: number };
    expect(out.pids).toEqual([null, null, null]);
    expect(out.rss / 1024).toBeLessThan(300);
  }, 30_000);
});

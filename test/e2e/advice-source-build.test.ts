/**
 * Issue #18 item 9, through the CLI: `source build 2.2.34 -- --enable-module=so`
 * succeeds (configure ignores the option silently) and says so as a warning;
 * the built httpd starts and answers.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, get, tmpDir } from '../helpers.js';
import { SERIES_BUILDS_DIR, mirrorOf } from '../series-builds.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

describe("source build says configure's ignored options (#18 item 9)", () => {
  it(
    '2.2.34 with --enable-module=so: a warning naming it; the built httpd starts and answers',
    async () => {
      const work = await tmpDir('apxs-ts-advice-src-');
      const prefix = path.join(work, 'prefix');
      const port = await freePort();
      const r = await cli(
        [
          'source',
          'build',
          '2.2.34',
          '--mirror',
          mirrorOf('2.2.34'),
          '--keys',
          path.join(mirrorOf('2.2.34'), 'KEYS'),
          '--prefix',
          prefix,
          '--port',
          String(port),
          '--cache-dir',
          path.join(SERIES_BUILDS_DIR, 'cache'),
          '--jobs',
          String(os.availableParallelism()),
          '--json',
          '--',
          '--enable-module=so',
        ],
        { timeoutMs: 15 * 60_000 },
      );
      expect(r.code, r.stdout.slice(-2000)).toBe(0);
      expect(r.json.warnings).toContainEqual(
        expect.stringContaining('configure did not recognize --enable-module and ignored it'),
      );
      roots.push(prefix);
      expect((await cli(['ctl', 'start', '--server-root', prefix])).code).toBe(0);
      expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    },
    16 * 60_000,
  );
});

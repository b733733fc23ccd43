/**
 * Every httpd series for real (issue #10): 1.3.42, 2.0.65 and 2.2.34 from
 * ../shared/archive and 2.4.68 from ../shared/mirror, each built once per run
 * by `apxs-ts source build` (test/series-builds.ts) and shared with the ctl
 * and module tests of test/e2e/ctl-series.test.ts and module-series.test.ts.
 * Here: the listing, what the build verified, the server's lifecycle, and
 * name-based vhosts with a private hosts file on each series.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, get, tmpDir } from '../helpers.js';
import { SERIES_VERSIONS, mirrorOf, withBuiltHttpd } from '../series-builds.js';

describe.each(SERIES_VERSIONS)('httpd %s', (version) => {
  it('source list shows it', async () => {
    const r = await cli(['source', 'list', '--mirror', mirrorOf(version), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(r.json)).toContain(`"${version}"`);
  });

  it('was verified (checksum and signer named) and built; starts, answers, reloads, stops; two vhosts each get their page', async () => {
    await withBuiltHttpd(version, async ({ prefix, port }) => {
      const receipt = JSON.parse(
        await fs.readFile(path.join(prefix, 'apxs-ts-receipt.json'), 'utf8'),
      );
      expect(receipt.version).toBe(version);
      expect(receipt.checksum.hex).toMatch(/^[0-9a-f]{32,128}$/);
      expect(receipt.signer.userId).toBeTruthy();

      const work = await tmpDir();
      const hosts = path.join(work, 'hosts');
      await fs.writeFile(hosts, '127.0.0.1 localhost\n');
      const confBefore = await fs.readFile(path.join(prefix, 'conf', 'httpd.conf'));
      const v = (...a: string[]) =>
        cli(['vhost', ...a, '--server-root', prefix, '--hosts-file', hosts, '--json']);
      const ctl = (...a: string[]) =>
        cli(['ctl', ...a, '--server-root', prefix, '--json'], { timeoutMs: 90_000 });
      try {
        for (const n of ['one.dd', 'two.dd']) {
          const added = await v('add', n);
          expect(added.code, added.stdout).toBe(0);
          expect(added.json.series).toBe(version.split('.').slice(0, 2).join('.'));
        }
        const check = await v('check');
        expect(check.code, check.stdout).toBe(0);
        expect(check.json.findings).toEqual([]);
        // httpd's own view: no warning at all.
        expect(check.json.httpdS.output).not.toMatch(/warn|overlap|has no VirtualHosts|AH00548/i);

        const started = await ctl('start');
        expect(started.code, started.stdout).toBe(0);
        expect(started.json.health.status).toBeLessThan(500);
        expect((await ctl('status')).code).toBe(0);
        const page = async (host: string) =>
          (await get(`http://127.0.0.1:${port}/`, { Host: host })).body.match(
            /<h1>([^<]*)<\/h1>/,
          )?.[1];
        expect(await page('one.dd')).toBe('one.dd');
        expect(await page('two.dd')).toBe('two.dd');
        expect(await page('unknown.dd')).toBe('one.dd');
        const graceful = await ctl('graceful');
        expect(graceful.code, graceful.stdout).toBe(0);
        expect(await page('two.dd')).toBe('two.dd');
        const stopped = await ctl('stop');
        expect(stopped.code, stopped.stdout).toBe(0);
        expect((await ctl('status')).code).toBe(3);
      } finally {
        await ctl('stop');
        for (const n of ['one.dd', 'two.dd']) await v('remove', n, '--purge');
      }
      // The shared prefix is left as it was found.
      expect(await fs.readFile(path.join(prefix, 'conf', 'httpd.conf'))).toEqual(confBefore);
    });
  });
});

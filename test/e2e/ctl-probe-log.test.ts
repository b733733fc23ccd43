/**
 * `ctl start` on a running server sends one request to its health URL: that
 * answer is what proves the server healthy (one answering 500 is UNHEALTHY,
 * exit 1: test/reliability/ctl.test.ts), so the request stays and httpd logs
 * it. The request says what it is (User-Agent apxs-ts-health-probe), and the
 * recipe README's ctl section gives keeps it out of access_log.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, get, newSandbox } from '../helpers.js';

const roots: string[] = [];
afterEach(async () => {
  for (const sr of roots.splice(0)) await cli(['ctl', 'stop', '--server-root', sr]);
});

const start = (sr: string) => cli(['ctl', 'start', '--server-root', sr, '--json']);
const lines = async (file: string) =>
  (await fs.readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe("ctl start's health probe in httpd's logs", () => {
  it('the probe of an already-running server is logged with User-Agent apxs-ts-health-probe; the README recipe keeps it out of access_log, a visitor still in', async () => {
    const { sr, port } = await newSandbox(roots);
    const conf = path.join(sr, 'conf', 'httpd.conf');
    const text = await fs.readFile(conf, 'utf8');
    expect(text).toMatch(/^CustomLog logs\/access_log sandbox$/m);
    // The user's own edits: a log of User-Agents, and README's recipe.
    await fs.writeFile(
      conf,
      text.replace(
        /^CustomLog logs\/access_log sandbox$/m,
        [
          'LoadModule setenvif_module /usr/lib/apache2/modules/mod_setenvif.so',
          'SetEnvIf User-Agent "^apxs-ts-health-probe" apxs_ts_probe',
          'CustomLog logs/access_log sandbox env=!apxs_ts_probe',
          'CustomLog logs/agents_log "%{User-Agent}i"',
        ].join('\n'),
      ),
    );
    const first = await start(sr);
    expect(first.json?.changed, first.stdout).toBe(true);
    const access = path.join(sr, 'logs', 'access_log');
    const agents = path.join(sr, 'logs', 'agents_log');
    const accessBefore = await lines(access);
    const agentsBefore = await lines(agents);
    for (let i = 0; i < 3; i++) {
      const again = await start(sr);
      expect(again.code, again.stdout).toBe(0);
      expect(again.json).toMatchObject({ changed: false, alreadyRunning: true });
      expect(again.json.health.status).toBe(200);
    }
    // Each run's probe reached httpd, marked as the probe; none went to access_log.
    const probes = (await lines(agents)).slice(agentsBefore.length);
    expect(probes.length).toBeGreaterThanOrEqual(3);
    expect(new Set(probes)).toEqual(new Set(['apxs-ts-health-probe']));
    expect(await lines(access)).toEqual(accessBefore);
    // A visitor is logged as before.
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect((await lines(access)).length).toBe(accessBefore.length + 1);
  }, 120_000);
});

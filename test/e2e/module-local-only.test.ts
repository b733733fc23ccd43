/**
 * A module's <Location> answers only this machine unless installed --public
 * (issue #17 item 10), on a sandbox: its minimal config loads no
 * mod_authz_host, so `Require local` is not there and the expr fallback
 * (mod_authz_core's -R) must say the same. "Someone else" is a client
 * mod_remoteip takes from X-Forwarded-For (trusted from 127.0.0.1 only):
 * every address of this machine is local.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cli, get, newSandbox } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

it('a sandbox without mod_authz_host: 200 for this machine, 403 for another client, 200 for both with --public', async () => {
  const { work, sr, port } = await newSandbox(roots);
  const conf = path.join(sr, 'conf', 'httpd.conf');
  const text = await fs.readFile(conf, 'utf8');
  expect(text).not.toMatch(/authz_host_module/);
  await fs.appendFile(
    conf,
    '\nLoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so\nRemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1\n',
  );
  expect((await cli(['new', 'lo', '--template', 'handler', '--dir', work])).code).toBe(0);
  const inst = await cli(['install', path.join(work, 'mod_lo'), '--server-root', sr]);
  expect(inst.code, inst.stderr).toBe(0);
  const block = async () =>
    /# BEGIN apxs-ts module lo\n([\s\S]*?)# END apxs-ts module lo/.exec(
      await fs.readFile(conf, 'utf8'),
    )?.[1] ?? '';
  expect(await block()).toContain(`Require expr "-R '127.0.0.0/8' || -R '::1'"`);
  expect((await cli(['ctl', 'start', '--server-root', sr])).code).toBe(0);
  const remote = { 'X-Forwarded-For': '203.0.113.9' };
  expect((await get(`http://127.0.0.1:${port}/lo`)).status).toBe(200);
  expect((await get(`http://127.0.0.1:${port}/lo`, remote)).status).toBe(403);
  expect(
    (await cli(['install', path.join(work, 'mod_lo'), '--public', '--server-root', sr])).code,
  ).toBe(0);
  expect(await block()).toMatch(/SetHandler lo\n<\/Location>/);
  expect((await cli(['ctl', 'graceful', '--server-root', sr])).code).toBe(0);
  expect((await get(`http://127.0.0.1:${port}/lo`, remote)).status).toBe(200);
});

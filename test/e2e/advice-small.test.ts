/**
 * Issue #18 item 9, the smaller pieces: `ctl start`/`status` on a server
 * whose / answers 403 say the code and what it means (and the note goes once
 * the grant is back); `vhost add` says when a name was already mapped by the
 * user's own hosts line (left as it is), and the vhost answers by that name.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

describe('smaller advice (#18 item 9)', () => {
  it('start and status on a / that answers 403 say so; with the grant back the note is gone and / answers 200', async () => {
    const { sr, port } = await newSandbox(roots);
    const conf = path.join(sr, 'conf', 'httpd.conf');
    const text = await fs.readFile(conf, 'utf8');
    const denied = text.replace(
      /(<Directory "[^"]*\/htdocs">\n\s*)Require all granted/,
      '$1Require all denied',
    );
    expect(denied).not.toBe(text);
    await fs.writeFile(conf, denied);
    const start = await cli(['ctl', 'start', '--server-root', sr]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stderr).toContain('answered 403');
    expect(start.stderr).toContain(
      'note: 403 Forbidden: httpd runs, but refuses this URL: no <Directory> grants its DocumentRoot',
    );
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(403);
    const status = await cli(['ctl', 'status', '--server-root', sr]);
    expect(status.stdout).toContain('note: 403 Forbidden');
    // --json carries the same words.
    const statusJson = await cli(['ctl', 'status', '--server-root', sr, '--json']);
    expect(statusJson.json.healthNote).toMatch(/^403 Forbidden: httpd runs, but refuses this URL/);
    // The note's first cause is this one: grant the DocumentRoot again.
    await fs.writeFile(conf, text);
    expect((await cli(['ctl', 'graceful', '--server-root', sr])).code).toBe(0);
    const after = await cli(['ctl', 'status', '--server-root', sr]);
    expect(after.stdout).not.toContain('note:');
    expect(
      (await cli(['ctl', 'status', '--server-root', sr, '--json'])).json.healthNote,
    ).toBeUndefined();
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
  });

  it('vhost add says a name was already mapped by your own line, leaves it, and the vhost answers by it', async () => {
    const { sr, port, work } = await newSandbox(roots);
    const hosts = path.join(work, 'hosts');
    const mine = '127.0.0.1 localhost one.dd\n';
    await fs.writeFile(hosts, mine);
    const add = await cli([
      'vhost',
      'add',
      'one.dd',
      '--alias',
      'www.one.dd',
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain(
      `warning: one.dd was already mapped to 127.0.0.1 in ${hosts}:1 (your line): left as it is, and vhost remove will not take it out`,
    );
    expect(add.stderr).not.toContain('www.one.dd was already mapped');
    expect(await fs.readFile(hosts, 'utf8')).toBe(
      `${mine}# BEGIN apxs-ts\n127.0.0.1 www.one.dd\n# END apxs-ts\n`,
    );
    expect((await cli(['ctl', 'start', '--server-root', sr])).code).toBe(0);
    expect((await get(`http://127.0.0.1:${port}/`, { Host: 'one.dd' })).body).toContain(
      '<h1>one.dd</h1>',
    );
    expect(
      (await cli(['vhost', 'remove', 'one.dd', '--server-root', sr, '--hosts-file', hosts])).code,
    ).toBe(0);
    expect(await fs.readFile(hosts, 'utf8')).toBe(mine); // as said: the user's line stays
  });
});

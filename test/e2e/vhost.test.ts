/** vhost add/remove on a real sandbox httpd, names resolved through a private /etc/hosts. */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox, snapshot } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

async function setup() {
  const { work, sr, port } = await newSandbox(roots);
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n::1 localhost ip6-localhost\n');
  return {
    work,
    port,
    sr,
    hosts,
    v: (...a: string[]) =>
      cli(['vhost', ...a, '--server-root', sr, '--hosts-file', hosts, '--json']),
  };
}

describe('vhost', () => {
  it('two name-based vhosts: each Host gets its page, an unknown Host the first; the system resolver finds them', async () => {
    const { port, sr, hosts, v } = await setup();
    const pristineConf = await fs.readFile(path.join(sr, 'conf', 'httpd.conf'));
    const one = await v('add', 'one.dd');
    expect(one.code, one.stdout).toBe(0);
    expect(one.json).toMatchObject({ series: '2.4', address: `*:${port}`, hostsChanged: true });
    expect((await v('add', 'two.dd', '--alias', 'www.two.dd')).code).toBe(0);
    const vhostsConf = await fs.readFile(path.join(sr, 'conf', 'apxs-ts-vhosts.conf'), 'utf8');
    expect(vhostsConf).not.toContain('NameVirtualHost'); // 2.4 needs none
    expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8')).toContain(
      'Include "conf/apxs-ts-vhosts.conf"',
    );
    expect(await fs.readFile(hosts, 'utf8')).toContain(
      '# BEGIN apxs-ts\n127.0.0.1 one.dd two.dd www.two.dd\n# END apxs-ts\n',
    );

    const started = await cli(['ctl', 'start', '--server-root', sr]);
    expect(started.code, started.stderr).toBe(0);
    const page = async (host: string) =>
      (await get(`http://127.0.0.1:${port}/`, { Host: host })).body.match(/<h1>([^<]*)<\/h1>/)?.[1];
    expect(await page('one.dd')).toBe('one.dd');
    expect(await page('two.dd')).toBe('two.dd');
    expect(await page('www.two.dd')).toBe('two.dd');
    expect(await page('nobody.dd')).toBe('one.dd');

    // In a private mount namespace, our hosts file is /etc/hosts: curl resolves one.dd like any program would.
    const body = execFileSync(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        `mount --bind ${hosts} /etc/hosts && curl -sS --max-time 5 http://one.dd:${port}/ && curl -sS --max-time 5 http://www.two.dd:${port}/`,
      ],
      { encoding: 'utf8' },
    );
    expect(body).toContain('<h1>one.dd</h1>');
    expect(body).toContain('<h1>two.dd</h1>');

    const list = await v('list');
    expect(
      list.json.vhosts.map((x: { serverName: string; isDefault: boolean }) => [
        x.serverName,
        x.isDefault,
      ]),
    ).toEqual([
      ['one.dd', true],
      ['two.dd', false],
    ]);
    const check = await v('check');
    expect(check.code, JSON.stringify(check.json?.error)).toBe(0);
    expect(check.json.httpdS.output).toContain(`port ${port} namevhost one.dd`);

    // remove: block, hosts entry; the Include goes with the last vhost; --purge takes the DocumentRoot.
    expect((await v('remove', 'two.dd')).code).toBe(0);
    expect(await fs.stat(path.join(sr, 'sites', 'two.dd')).then(() => true)).toBe(true);
    const last = await v('remove', 'one.dd', '--purge');
    expect(last.code, last.stdout).toBe(0);
    await expect(fs.stat(path.join(sr, 'sites', 'one.dd'))).rejects.toThrow();
    await expect(fs.stat(path.join(sr, 'conf', 'apxs-ts-vhosts.conf'))).rejects.toThrow();
    expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'))).toEqual(pristineConf);
    expect(await fs.readFile(hosts, 'utf8')).toBe(
      '127.0.0.1 localhost\n::1 localhost ip6-localhost\n',
    );
    // Gone already: exit 0, nothing changed, said so (#23).
    const again = await v('remove', 'one.dd');
    expect(again.code, again.stderr).toBe(0);
    expect(again.json).toMatchObject({ changed: false, alreadyAbsent: true, files: [] });
  });

  it('restores every file byte for byte when httpd rejects the result, and says the config was rejected before the edit', async () => {
    const { work, sr, hosts, v } = await setup();
    // A 2.2-era line the user already had: httpd 2.4 refuses it.
    await fs.appendFile(
      path.join(sr, 'conf', 'httpd.conf'),
      '<Directory /nowhere>\n    Order allow,deny\n</Directory>\n',
    );
    const before = await snapshot(work);
    const r = await v('add', 'one.dd');
    expect(r.code).toBe(1);
    // The line was there before: the edit is not blamed for it (#16).
    expect(r.json.error.code).toBe('CONFIG_BROKEN_BEFORE');
    expect(r.json.error.message).toContain("Invalid command 'Order'");
    const after = await snapshot(work);
    for (const s of [before, after])
      for (const k of Object.keys(s))
        if (k.includes('.apxs-ts/backups/') || /hosts\.\d{8}T/.test(k)) delete s[k];
    expect(after).toEqual(before);
    expect(await fs.readFile(hosts, 'utf8')).toBe(
      '127.0.0.1 localhost\n::1 localhost ip6-localhost\n',
    );
  });

  it('refuses bad names before touching anything', async () => {
    const { work, v } = await setup();
    const before = await snapshot(work);
    const r = await v('add', 'bad_name.dd');
    expect(r.code).toBe(2); // a rejected argument is a usage error
    expect(r.json.error.code).toBe('BAD_HOSTNAME');
    expect(await snapshot(work)).toEqual(before);
  });
});

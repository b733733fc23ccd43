/**
 * Issue #18 item 3: the blog's 2.2 vhost file (`NameVirtualHost *`, two
 * `<VirtualHost *>`) included beside `vhost add`'s `<VirtualHost *:PORT>`,
 * on the system 2.4. vhost check says no 2.2 "mixing" warning, names the
 * shadowed `*` vhosts and the vhost that answers instead; vhost list groups
 * them as httpd -S does. httpd's answer is asked before and after the fix is
 * followed literally.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

describe('mixed * and *:PORT vhosts on 2.4 (#18 item 3)', () => {
  it('check names the shadowed * vhosts and what answers instead; following the fix makes them answer', async () => {
    const { sr, port, work } = await newSandbox(roots);
    const hosts = path.join(work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n');
    const v = (...a: string[]) =>
      cli(['vhost', ...a, '--server-root', sr, '--hosts-file', hosts, '--json']);
    expect((await v('add', 'one.dd')).code).toBe(0);
    // The blog's file, verbatim in form, with its own granted DocumentRoots.
    const blog = path.join(sr, 'conf', 'blog-vhosts.conf');
    const site = async (n: string) => {
      const d = path.join(work, 'www', n);
      await fs.mkdir(d, { recursive: true });
      await fs.writeFile(path.join(d, 'index.html'), `<h1>blog ${n}</h1>\n`);
      return d;
    };
    const [d1, d2] = [await site('www.one.dd'), await site('www.two.dd')];
    await fs.writeFile(
      blog,
      `NameVirtualHost *\n<VirtualHost *>\n    ServerName www.one.dd\n    DocumentRoot ${d1}\n</VirtualHost>\n<VirtualHost *>\n    ServerName www.two.dd\n    DocumentRoot ${d2}\n</VirtualHost>\n<Directory ${path.join(work, 'www')}>\n    Require all granted\n</Directory>\n`,
    );
    await fs.appendFile(hosts, '127.0.0.1 www.one.dd www.two.dd\n');
    await fs.appendFile(path.join(sr, 'conf', 'httpd.conf'), 'Include conf/blog-vhosts.conf\n');

    const check = await v('check');
    expect(check.code).toBe(1);
    const codes = check.json.findings.map((f: { code: string }) => f.code);
    expect(codes).not.toContain('MIXED_WILDCARD_PORTS');
    expect(JSON.stringify(check.json.findings)).not.toContain('mixing * ports');
    const shadowed = check.json.findings.filter(
      (f: { code: string }) => f.code === 'WILDCARD_SHADOWED',
    );
    expect(shadowed.map((f: { line: number }) => f.line)).toEqual([2, 6]);
    expect(shadowed[0].message).toContain(`www.one.dd never answers on port ${port}`);
    expect(shadowed[0].message).toContain('their default, one.dd');
    // httpd -S groups them the same way: *:* apart from *:PORT.
    expect(check.json.httpdS.output).toMatch(/\*:\*\s+is a NameVirtualHost/);

    const list = await v('list');
    const rows = list.json.vhosts.map(
      (x: {
        serverName: string;
        address: string;
        isDefault: boolean;
        shadowedBy: { address: string; answeredBy: string }[];
      }) => [
        x.serverName,
        x.address,
        x.isDefault,
        x.shadowedBy.map((s) => `${s.address}>${s.answeredBy}`).join(),
      ],
    );
    expect(rows).toEqual([
      ['one.dd', `*:${port}`, true, ''],
      ['www.one.dd', '*:*', true, `*:${port}>one.dd`],
      ['www.two.dd', '*:*', false, `*:${port}>one.dd`],
    ]);

    // What the check says, httpd does: www.one.dd gets one.dd's page.
    expect((await cli(['ctl', 'start', '--server-root', sr])).code).toBe(0);
    const page = async (host: string) =>
      (await get(`http://127.0.0.1:${port}/`, { Host: host })).body;
    expect(await page('www.one.dd')).toContain('<h1>one.dd</h1>');

    // Follow the fixes literally: <VirtualHost *:PORT> for each, and delete NameVirtualHost (AH00548).
    const want = new RegExp(`^write <VirtualHost \\*:${port}> for `);
    for (const f of shadowed) expect(f.fix).toMatch(want);
    const nvh = check.json.findings.find(
      (f: { code: string }) => f.code === 'NAMEVIRTUALHOST_ON_24',
    );
    expect(nvh.fix).toBe('delete "NameVirtualHost *"');
    const lines = (await fs.readFile(blog, 'utf8')).split('\n');
    for (const f of shadowed) lines[f.line - 1] = `<VirtualHost *:${port}>`;
    await fs.writeFile(blog, lines.filter((l) => l !== 'NameVirtualHost *').join('\n'));
    expect((await cli(['ctl', 'graceful', '--server-root', sr])).code).toBe(0);
    expect(await page('www.one.dd')).toBe('<h1>blog www.one.dd</h1>\n');
    expect(await page('www.two.dd')).toBe('<h1>blog www.two.dd</h1>\n');
    expect(await page('one.dd')).toContain('<h1>one.dd</h1>');
    const clean = await v('check');
    expect(clean.code, JSON.stringify(clean.json.findings)).toBe(0);
  });
});

/**
 * Issue #18 items 8 and 9 (ids, duplicate location): `ctl configtest`
 * explains every warning (two vhosts' missing DocumentRoots: two
 * explanations), vhost check's AH00548 finding names its file:line once, and
 * with a 2.2 target no AH id appears in what apxs-ts says (2.2 prints none).
 * Following the explanations (mkdir -p each path) leaves httpd with no warning.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, newSandbox, tmpDir } from '../helpers.js';
import { withBuiltHttpd } from '../series-builds.js';

const twoVhosts = (d1: string, d2: string, port: number | string) =>
  `NameVirtualHost *:${port}\n<VirtualHost *:${port}>\n    ServerName one.dd\n    DocumentRoot ${d1}\n</VirtualHost>\n<VirtualHost *:${port}>\n    ServerName two.dd\n    DocumentRoot ${d2}\n</VirtualHost>\n`;

describe('configtest explains every warning; ids only where httpd prints them (#18 items 8, 9)', () => {
  it('2.4: both AH00112 warnings explained; mkdir -p of each named path silences them; AH00548 says its file:line once', async () => {
    const { sr, port, work } = await newSandbox();
    const [d1, d2] = [path.join(work, 'www', 'one'), path.join(work, 'www', 'two')];
    const vfile = path.join(sr, 'conf', 'blog.conf');
    await fs.writeFile(vfile, twoVhosts(d1, d2, port));
    await fs.appendFile(path.join(sr, 'conf', 'httpd.conf'), 'Include conf/blog.conf\n');
    const t = await cli(['ctl', 'configtest', '--server-root', sr, '--json']);
    expect(t.code, t.stdout).toBe(0);
    const ah112 = t.json.explanations.filter((e: string) => e.includes('does not exist'));
    expect(ah112).toEqual([expect.stringContaining(d1), expect.stringContaining(d2)]);
    expect(t.json.output.match(/AH00112/g)).toHaveLength(2);

    // AH00548, as vhost check prints it: the location once (at the start of the line).
    const hosts = path.join(work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost one.dd two.dd\n');
    const check = await cli(['vhost', 'check', '--server-root', sr, '--hosts-file', hosts]);
    const findingLines = check.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /: warning: .*AH00548/.test(l));
    expect(findingLines).toEqual([
      `${vfile}:1: warning: AH00548: NameVirtualHost has no effect and will be removed in the next release`,
    ]);

    // Follow what the explanations say: create each DocumentRoot named.
    for (const e of ah112)
      execFileSync('mkdir', ['-p', /DocumentRoot (\S+) does not exist/.exec(e)![1]!]);
    const after = await cli(['ctl', 'configtest', '--server-root', sr, '--json']);
    expect(after.json.output).not.toContain('AH00112');
  });

  it('2.2 (built 2.2.34): both DocumentRoot warnings explained, and no AH id in any explanation or vhost finding', async () => {
    await withBuiltHttpd('2.2.34', async ({ prefix, port }) => {
      const work = await tmpDir('apxs-ts-advice-ct22-');
      const [d1, d2] = [path.join(work, 'one'), path.join(work, 'two')];
      const vfile = path.join(work, 'blog.conf');
      await fs.writeFile(vfile, twoVhosts(d1, d2, port));
      const conf = path.join(prefix, 'conf', 'httpd.conf');
      const before = await fs.readFile(conf);
      try {
        await fs.appendFile(conf, `Include ${vfile}\n`);
        const t = await cli(['ctl', 'configtest', '--server-root', prefix, '--json']);
        expect(t.code, t.stdout).toBe(0);
        expect(t.json.output).toContain(`Warning: DocumentRoot [${d1}] does not exist`);
        expect(t.json.output).not.toMatch(/AH\d{5}/);
        expect(t.json.explanations.filter((e: string) => e.includes('does not exist'))).toEqual([
          expect.stringContaining(d1),
          expect.stringContaining(d2),
        ]);
        for (const e of t.json.explanations) expect(e).not.toMatch(/AH\d{5}/);
        const hosts = path.join(work, 'hosts');
        await fs.writeFile(hosts, '127.0.0.1 localhost one.dd two.dd\n');
        const check = await cli([
          'vhost',
          'check',
          '--server-root',
          prefix,
          '--hosts-file',
          hosts,
          '--json',
        ]);
        expect(check.json.series).toBe('2.2');
        expect(check.json.findings.length).toBeGreaterThan(0);
        for (const f of check.json.findings)
          expect(`${f.message} ${f.explanation}`).not.toMatch(/AH\d{5}/);
      } finally {
        await fs.writeFile(conf, before);
      }
    });
  });
});

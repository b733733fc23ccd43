/**
 * Issue #18 item 2: a DocumentRoot no <Directory> grants. vhost check says
 * the status httpd really returns (403, 2.4's AH01630) and the block to add;
 * the test follows the advice literally (the `mkdir -p`, then the block),
 * asking the real httpd after each step: 403, still 403, then 200. On the
 * system 2.4 (Require) and the built 2.2.34 (Order/Allow, no AH numbers).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, get, newSandbox, tmpDir } from '../helpers.js';
import { builtHttpd } from '../series-builds.js';

const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stops) await s();
});

const blogVhost = (docroot: string, port: number) =>
  `<VirtualHost *:${port}>\n    ServerName one.dd\n    DocumentRoot ${docroot}\n</VirtualHost>\n`;

/** The finding's fix as a user reads it: a command to run, or the lines to add after "...:\n". */
const blockOf = (fix: string) => fix.slice(fix.indexOf('\n') + 1);

interface Target {
  check: (extra: string[]) => Promise<{ code: number; json: any }>;
  reload: () => Promise<void>;
  vhostFile: string;
  port: number;
  errorLog: string;
}

async function followed(t: Target, docroot: string, series: string): Promise<void> {
  const page = () => get(`http://127.0.0.1:${t.port}/`, { Host: 'one.dd' });
  const check = await t.check([]);
  expect(check.code).toBe(1);
  const byCode = (code: string) =>
    check.json.findings.find((f: { code: string }) => f.code === code);
  const missing = byCode('DOCROOT_MISSING');
  const denied = byCode('DOCROOT_NOT_GRANTED');
  expect(missing.fix).toBe(`mkdir -p ${docroot}`);
  expect(missing.explanation).toContain('403 Forbidden');
  expect(denied.message).toContain(`httpd ${series} answers 403 Forbidden`);
  // What the check says is what httpd does.
  expect((await page()).status).toBe(403);

  execFileSync('sh', ['-c', missing.fix]);
  await fs.writeFile(path.join(docroot, 'index.html'), '<h1>one.dd</h1>\n');
  expect((await page()).status).toBe(403); // mkdir alone: still denied, as the check said
  const log = await fs.readFile(t.errorLog, 'utf8');
  expect(log).toContain(`client denied by server configuration: ${docroot}`);
  if (series === '2.4') {
    expect(log).toContain('AH01630');
    expect(denied.explanation).toContain('AH01630: client denied');
  } else {
    expect(denied.explanation).not.toMatch(/AH\d{5}/);
    expect(missing.message).not.toMatch(/AH\d{5}/);
  }

  await fs.appendFile(t.vhostFile, `${blockOf(denied.fix)}\n`);
  await t.reload();
  expect(await page()).toEqual({ status: 200, body: '<h1>one.dd</h1>\n' });
  const after = await t.check([]);
  expect(after.json.findings?.map((f: { code: string }) => f.code) ?? []).not.toContain(
    'DOCROOT_NOT_GRANTED',
  );
}

describe('DocumentRoot no <Directory> grants (#18 item 2)', () => {
  it('2.4 (system httpd): 403 with AH01630, mkdir -p keeps it 403, the Require block makes it 200', async () => {
    const { sr, port, work } = await newSandbox();
    stops.push(() => cli(['ctl', 'stop', '--server-root', sr]));
    const hosts = path.join(work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost one.dd\n');
    const docroot = path.join(work, 'www', 'one.dd');
    const vhostFile = path.join(sr, 'conf', 'blog-vhosts.conf');
    await fs.writeFile(vhostFile, blogVhost(docroot, port));
    await fs.appendFile(path.join(sr, 'conf', 'httpd.conf'), `Include conf/blog-vhosts.conf\n`);
    expect((await cli(['ctl', 'start', '--server-root', sr])).code).toBe(0);
    await followed(
      {
        check: (x) =>
          cli([
            'vhost',
            'check',
            '--server-root',
            sr,
            '--hosts-file',
            hosts,
            '--no-httpd',
            '--json',
            ...x,
          ]),
        reload: async () => {
          expect((await cli(['ctl', 'graceful', '--server-root', sr])).code).toBe(0);
        },
        vhostFile,
        port,
        errorLog: path.join(sr, 'logs', 'error_log'),
      },
      docroot,
      '2.4',
    );
  });

  it('2.2 (built 2.2.34, its own config copy): 403, mkdir keeps it 403, the Order/Allow block makes it 200', async () => {
    const { prefix } = await builtHttpd('2.2.34');
    const work = await tmpDir('apxs-ts-advice-22-');
    const port = await freePort();
    const conf = path.join(work, 'httpd.conf');
    const vhostFile = path.join(work, 'vhosts.conf');
    const docroot = path.join(work, 'www', 'one.dd');
    const hosts = path.join(work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost one.dd\n');
    // The build's own httpd.conf, listening elsewhere and logging here, so the shared prefix is not touched.
    const text = (await fs.readFile(path.join(prefix, 'conf', 'httpd.conf'), 'utf8'))
      .replace(/^Listen .*$/m, `Listen 127.0.0.1:${port}`)
      .replace(/^ServerName .*$/m, `ServerName localhost:${port}`)
      .replace(/^ErrorLog .*$/m, `ErrorLog "${work}/error_log"`)
      .replace(/CustomLog "logs\/access_log"/, `CustomLog "${work}/access_log"`);
    await fs.writeFile(
      conf,
      `${text}\nPidFile "${work}/httpd.pid"\nLockFile "${work}/accept.lock"\nInclude "${vhostFile}"\n`,
    );
    await fs.writeFile(vhostFile, blogVhost(docroot, port));
    const httpd = path.join(prefix, 'bin', 'httpd');
    execFileSync(httpd, ['-f', conf, '-k', 'start']);
    stops.push(async () => {
      try {
        execFileSync(httpd, ['-f', conf, '-k', 'stop']);
      } catch {
        /* already stopped */
      }
    });
    const up = async () => {
      for (let i = 0; i < 50; i++) {
        if (
          await get(`http://127.0.0.1:${port}/`).then(
            () => true,
            () => false,
          )
        )
          return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await up();
    await followed(
      {
        check: (x) =>
          cli([
            'vhost',
            'check',
            '--config',
            conf,
            '--httpd-version',
            '2.2',
            '--hosts-file',
            hosts,
            '--json',
            ...x,
          ]),
        reload: async () => {
          execFileSync(httpd, ['-f', conf, '-k', 'graceful']);
          await new Promise((r) => setTimeout(r, 500));
          await up();
        },
        vhostFile,
        port,
        errorLog: path.join(work, 'error_log'),
      },
      docroot,
      '2.2',
    );
  });
});

/**
 * `source build 2.4.68 --with-ssl` (built once per boot through
 * test/series-builds.ts, its own cache dir 2.4.68-ssl) serves two TLS vhosts
 * on one port by SNI: the same checks as on the system 2.4, on a prefix
 * layout (LoadModule lines in its httpd.conf). The shared prefix is left as
 * it was found: vhosts removed, server stopped, httpd.conf byte-identical.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { cli, freePort, tmpDir } from '../helpers.js';
import { withBuiltHttpd } from '../series-builds.js';

const run = promisify(execFile);

function sClient(port: number, name: string, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const c = execFile(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${port}`,
        '-servername',
        name,
        '-CAfile',
        ca,
        '-verify_return_error',
      ],
      { timeout: 10_000 },
      (_e, stdout) => resolve(stdout),
    );
    c.stdin?.end();
  });
}

it(
  'source-built 2.4.68 --with-ssl: two TLS vhosts on one port, each its page and certificate',
  async () => {
    await withBuiltHttpd(
      '2.4.68',
      async (h) => {
        const receipt = JSON.parse(
          await fs.readFile(path.join(h.prefix, 'apxs-ts-receipt.json'), 'utf8'),
        );
        expect(receipt.configure).toEqual(
          expect.arrayContaining(['--enable-ssl=shared', '--enable-socache-shmcb=shared']),
        );
        await fs.access(path.join(h.prefix, 'modules', 'mod_ssl.so'));
        const work = await tmpDir('apxs-ts-tlssb-');
        const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
        const hosts = path.join(work, 'hosts');
        await fs.writeFile(hosts, '127.0.0.1 localhost\n');
        const conf = path.join(h.prefix, 'conf', 'httpd.conf');
        const before = await fs.readFile(conf, 'utf8');
        let tlsPort = await freePort();
        while (tlsPort === h.port) tlsPort = await freePort();
        const common = ['--server-root', h.prefix, '--hosts-file', hosts];
        try {
          for (const n of ['one.test', 'two.test']) {
            const r = await cli(
              ['vhost', 'add', n, '--tls', '--tls-port', String(tlsPort), ...common],
              { env },
            );
            expect(r.code, r.stderr).toBe(0);
          }
          expect(await fs.readFile(conf, 'utf8')).toMatch(
            /LoadModule ssl_module ".*modules\/mod_ssl\.so"/,
          );
          const st = await cli(['ctl', 'start', '--server-root', h.prefix, '--json'], {
            env,
            timeoutMs: 60_000,
          });
          expect(st.code, st.stderr).toBe(0);
          expect(st.json.tls.map((t: { ok: boolean }) => t.ok)).toEqual([true, true]);
          const ca = path.join(work, 'ca', 'ca.pem');
          for (const n of ['one.test', 'two.test']) {
            const page = await run('curl', [
              '-sS',
              '--max-time',
              '10',
              '--cacert',
              ca,
              '--resolve',
              `${n}:${tlsPort}:127.0.0.1`,
              `https://${n}:${tlsPort}/`,
            ]);
            expect(page.stdout).toContain(`<h1>${n}</h1>`);
            const out = await sClient(tlsPort, n, ca);
            expect(out).toMatch(new RegExp(`subject=CN\\s*=\\s*${n.replace('.', '\\.')}`));
            expect(out).toContain('Verify return code: 0 (ok)');
          }
        } finally {
          await cli(['ctl', 'stop', '--server-root', h.prefix]);
          for (const n of ['one.test', 'two.test'])
            await cli(['vhost', 'remove', n, '--purge', ...common], { env });
        }
        expect(await fs.readFile(conf, 'utf8')).toBe(before);
        await fs.rm(work, { recursive: true, force: true });
      },
      20 * 60_000,
      { ssl: true },
    );
  },
  25 * 60_000,
);

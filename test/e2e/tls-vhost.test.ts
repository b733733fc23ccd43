/**
 * `vhost add --tls` on the system 2.4 (a sandbox) and refused on 2.2.34
 * (built without mod_ssl) and 1.3.42 (test/series-builds.ts): two TLS vhosts
 * on one port picked by SNI, checked with curl --cacert/--resolve, openssl
 * s_client -servername and a Node client trusting the CA through
 * NODE_EXTRA_CA_CERTS; --https-only's redirect; vhost remove leaves no SSL
 * config and no certificate; 8 concurrent adds into one root.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, tlsSandbox, tmpDir } from '../helpers.js';
import { withBuiltHttpd } from '../series-builds.js';

const run = promisify(execFile);
const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

async function tlsRoot(): Promise<{
  work: string;
  sr: string;
  port: number;
  tlsPort: number;
  env: Record<string, string>;
  hosts: string;
}> {
  const work = await tmpDir('apxs-ts-tlsv-');
  const sr = path.join(work, 'srv');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  const { port, tlsPort } = await tlsSandbox(sr, env);
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  return { work, sr, port, tlsPort, env, hosts };
}

/** openssl s_client's output; stdin closed at once, so it hangs up after the handshake. */
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

const curl = (ca: string, name: string, port: number) =>
  run('curl', [
    '-sS',
    '--max-time',
    '10',
    '--cacert',
    ca,
    '--resolve',
    `${name}:${port}:127.0.0.1`,
    `https://${name}:${port}/`,
  ]).then((r) => r.stdout);

async function sslLines(sr: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await fs.readdir(path.join(sr, 'conf'))) {
    const p = path.join(sr, 'conf', f);
    if (!(await fs.stat(p)).isFile()) continue;
    out.push(
      ...(await fs.readFile(p, 'utf8'))
        .split('\n')
        .filter((l) => /SSL|ssl_module|socache|apxs-ts tls|\bhttps\b/.test(l)),
    );
  }
  return out;
}

describe('system 2.4 sandbox', () => {
  it('two TLS vhosts on one port: each its own page and certificate by SNI; Node with NODE_EXTRA_CA_CERTS; remove leaves no SSL config', async () => {
    const s = await tlsRoot();
    const common = ['--server-root', s.sr, '--hosts-file', s.hosts, '--json'];
    const one = await cli(['vhost', 'add', 'one.test', '--tls', ...common], { env: s.env });
    expect(one.code, one.stderr).toBe(0);
    expect(one.json.tls.url).toBe(`https://one.test:${s.tlsPort}/`);
    const two = await cli(
      ['vhost', 'add', 'two.test', '--alias', 'www.two.test', '--tls', '--https-only', ...common],
      { env: s.env },
    );
    expect(two.code, two.stderr).toBe(0);
    const ca = path.join(s.work, 'ca', 'ca.pem');
    expect(one.json.tls.ca).toBe(ca);
    const st = await cli(['ctl', 'start', '--server-root', s.sr], {
      env: s.env,
      timeoutMs: 60_000,
    });
    expect(st.code, st.stderr).toBe(0);
    started.push(s.sr);

    expect(await curl(ca, 'one.test', s.tlsPort)).toContain('<h1>one.test</h1>');
    expect(await curl(ca, 'two.test', s.tlsPort)).toContain('<h1>two.test</h1>');
    expect(await curl(ca, 'www.two.test', s.tlsPort)).toContain('<h1>two.test</h1>');
    for (const name of ['one.test', 'two.test']) {
      const out = await sClient(s.tlsPort, name, ca);
      expect(out).toMatch(new RegExp(`subject=CN\\s*=\\s*${name.replace('.', '\\.')}`));
      expect(out).toContain('Verify return code: 0 (ok)');
    }
    // ctl status probes each TLS vhost, verifying against the local CA only, and reports the served certificate's expiry.
    const status = await cli(['ctl', 'status', '--server-root', s.sr, '--json'], { env: s.env });
    expect(status.code, status.stderr).toBe(0);
    expect(
      status.json.tls.map((t: { vhost: string; ok: boolean; status: number }) => [
        t.vhost,
        t.ok,
        t.status,
      ]),
    ).toEqual([
      ['one.test', true, 200],
      ['two.test', true, 200],
    ]);
    expect(
      status.json.tls.every((t: { daysLeft: number }) => t.daysLeft >= 395 && t.daysLeft <= 396),
    ).toBe(true);
    const otherCa = { APXS_TS_CA_DIR: path.join(s.work, 'other-ca') };
    expect((await cli(['tls', 'ca'], { env: otherCa })).code).toBe(0);
    const wrong = await cli(['ctl', 'status', '--server-root', s.sr, '--json'], { env: otherCa });
    expect(wrong.json.tls.map((t: { ok: boolean; error: string }) => [t.ok, t.error])).toEqual([
      [false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      [false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ]);
    expect(wrong.json.warnings).toHaveLength(2);
    // --https-only: the plain vhost sends its visitors to https.
    const redirect = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{redirect_url}',
      '-H',
      'Host: two.test',
      `http://127.0.0.1:${s.port}/`,
    ]);
    expect(redirect.stdout).toBe(`301 https://two.test:${s.tlsPort}/`);
    // Node trusts the local CA through NODE_EXTRA_CA_CERTS (and not without it).
    const script = `require('https').get({host:'127.0.0.1',port:${s.tlsPort},servername:'one.test',headers:{host:'one.test'}},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>{console.log(r.statusCode,b.includes('one.test'))})}).on('error',e=>{console.log('error',e.code);process.exit(1)})`;
    const withCa = await run(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
    });
    expect(withCa.stdout.trim()).toBe('200 true');
    const without = await run(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
    }).catch((e: { stdout: string }) => e);
    expect(without.stdout).toMatch(
      /error (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
    );

    // remove: the TLS blocks, the certificate; with the last one the Listen, modules and the tls dir.
    const pems = await fs.readdir(path.join(s.sr, 'conf', 'apxs-ts-tls'));
    expect(pems).toHaveLength(2);
    for (const n of ['one.test', 'two.test']) {
      const r = await cli(['vhost', 'remove', n, ...common], { env: s.env });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await sslLines(s.sr)).toEqual([]);
    expect(await fs.stat(path.join(s.sr, 'conf', 'apxs-ts-tls')).catch(() => 'gone')).toBe('gone');
    const ct = await cli(['ctl', 'configtest', '--server-root', s.sr]);
    expect(ct.code, ct.stderr).toBe(0);
  }, 120_000);

  it('8 concurrent vhost add --tls into one root: 8 certificates, 8 vhosts, configtest passes', async () => {
    const s = await tlsRoot();
    const names = Array.from({ length: 8 }, (_, i) => `c${i}.test`);
    const rs = await Promise.all(
      names.map((n) =>
        cli(
          ['vhost', 'add', n, '--tls', '--server-root', s.sr, '--hosts-file', s.hosts, '--json'],
          { env: s.env, timeoutMs: 120_000 },
        ),
      ),
    );
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    const pems = await fs.readdir(path.join(s.sr, 'conf', 'apxs-ts-tls'));
    expect(pems.sort()).toHaveLength(8);
    expect(new Set(pems.map((p) => p.replace(/-[0-9a-f]{12}\.pem$/, '')))).toEqual(new Set(names));
    const conf = await fs.readFile(path.join(s.sr, 'conf', 'apxs-ts-vhosts.conf'), 'utf8');
    expect(conf.match(/SSLCertificateFile/g)).toHaveLength(8);
    for (const n of names) expect(conf).toContain(`# BEGIN apxs-ts vhost ${n}`);
    const list = await cli([
      'vhost',
      'list',
      '--server-root',
      s.sr,
      '--hosts-file',
      s.hosts,
      '--json',
    ]);
    expect(
      list.json.vhosts.filter((v: { serverName: string }) => names.includes(v.serverName)),
    ).toHaveLength(16);
    const ct = await cli(['ctl', 'configtest', '--server-root', s.sr]);
    expect(ct.code, ct.stderr).toBe(0);
    // One CA for all eight, made by the first.
    expect((await fs.readdir(path.join(s.work, 'ca'))).sort()).toEqual(['ca-key.pem', 'ca.pem']);
  }, 180_000);

  it('a name outside the CA constraints and a --tls-port that is the plain port are refused, nothing written', async () => {
    const s = await tlsRoot();
    const before = await fs.readFile(path.join(s.sr, 'conf', 'httpd.conf'), 'utf8');
    const bad = await cli(
      ['vhost', 'add', 'one.dd', '--tls', '--server-root', s.sr, '--hosts-file', s.hosts, '--json'],
      { env: s.env },
    );
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('NAME_NOT_PERMITTED');
    expect(bad.json.error.hint).toContain('apxs-ts tls ca --new --permit .dd');
    const same = await cli(
      [
        'vhost',
        'add',
        'one.test',
        '--tls',
        '--tls-port',
        String(s.port),
        '--server-root',
        s.sr,
        '--hosts-file',
        s.hosts,
        '--json',
      ],
      { env: s.env },
    );
    expect(same.code).toBe(2);
    expect(same.json.error.code).toBe('USAGE');
    expect(await fs.readFile(path.join(s.sr, 'conf', 'httpd.conf'), 'utf8')).toBe(before);
    expect(await fs.stat(path.join(s.sr, 'conf', 'apxs-ts-vhosts.conf')).catch(() => 'none')).toBe(
      'none',
    );
  }, 60_000);
});

describe('tls list / renew, --tls on an existing vhost', () => {
  it('a plain vhost gets TLS; re-adding keeps it; renew NAME and --expiring reissue and reload, the old file goes', async () => {
    const s = await tlsRoot();
    const common = ['--server-root', s.sr, '--hosts-file', s.hosts];
    expect((await cli(['vhost', 'add', 'one.test', ...common], { env: s.env })).code).toBe(0);
    expect(await sslLines(s.sr)).toEqual([]);
    const up = await cli(['vhost', 'add', 'one.test', '--tls', ...common, '--json'], {
      env: s.env,
    });
    expect(up.code, up.stderr).toBe(0);
    const again = await cli(['vhost', 'add', 'one.test', ...common, '--json'], { env: s.env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json).toMatchObject({ changed: false, files: [] });
    expect(again.json.tls.certificate).toBe(up.json.tls.certificate);
    const st = await cli(['ctl', 'start', '--server-root', s.sr], {
      env: s.env,
      timeoutMs: 60_000,
    });
    expect(st.code, st.stderr).toBe(0);
    started.push(s.sr);
    const serial = async () =>
      (await sClient(s.tlsPort, 'one.test', path.join(s.work, 'ca', 'ca.pem'))).match(
        /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/,
      )?.[0];
    const first = await serial();
    expect(first).toBeDefined();
    const list = await cli(['tls', 'list', '--server-root', s.sr, '--json'], { env: s.env });
    expect(list.json.certificates).toHaveLength(1);
    expect(list.json.certificates[0]).toMatchObject({
      vhost: 'one.test',
      port: s.tlsPort,
      names: ['one.test'],
      present: true,
      currentCa: true,
    });
    expect(list.json.certificates[0].daysLeft).toBeGreaterThan(390);
    const none = await cli(['tls', 'renew', '--expiring', '30', '--server-root', s.sr, '--json'], {
      env: s.env,
    });
    expect(none.code, none.stderr).toBe(0);
    expect(none.json.renewed).toEqual([]);
    expect(none.json.skipped).toEqual(['one.test']);
    const r = await cli(['tls', 'renew', 'one.test', '--server-root', s.sr, '--json'], {
      env: s.env,
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.reloaded).toBe(true);
    expect(r.json.renewed[0].file).not.toBe(up.json.tls.certificate);
    expect(await fs.stat(up.json.tls.certificate).catch(() => 'gone')).toBe('gone');
    const second = await serial();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const r2 = await cli(['tls', 'renew', '--expiring', '400', '--server-root', s.sr, '--json'], {
      env: s.env,
      timeoutMs: 60_000,
    });
    expect(r2.json.renewed).toHaveLength(1);
    expect(await fs.readdir(path.join(s.sr, 'conf', 'apxs-ts-tls'))).toHaveLength(1);
    const bad = await cli(['tls', 'renew', 'nope.test', '--server-root', s.sr, '--json'], {
      env: s.env,
    });
    expect(bad.json.error.code).toBe('NOT_FOUND');
  }, 120_000);
});

describe('series without TLS', () => {
  for (const [version, why] of [
    ['2.2.34', /no loadable mod_ssl\.so/],
    ['1.3.42', /1\.3 has no mod_ssl/],
  ] as const) {
    it(
      `${version}: vhost add --tls is TLS_UNSUPPORTED (exit 2, hint), nothing written`,
      async () => {
        await withBuiltHttpd(version, async (h) => {
          const work = await tmpDir('apxs-ts-tlsu-');
          const hosts = path.join(work, 'hosts');
          await fs.writeFile(hosts, '127.0.0.1 localhost\n');
          const conf = path.join(h.prefix, 'conf', 'httpd.conf');
          const before = await fs.readFile(conf, 'utf8');
          const r = await cli(
            [
              'vhost',
              'add',
              'one.test',
              '--tls',
              '--tls-port',
              String(await freePort()),
              '--server-root',
              h.prefix,
              '--hosts-file',
              hosts,
              '--json',
            ],
            { env: { APXS_TS_CA_DIR: path.join(work, 'ca') } },
          );
          expect(r.code, r.stderr).toBe(2);
          expect(r.json.error.code).toBe('TLS_UNSUPPORTED');
          expect(r.json.error.message).toMatch(why);
          expect(r.json.error.hint).toMatch(/2\.4/);
          expect(await fs.readFile(conf, 'utf8')).toBe(before);
          // Refused before the CA: nothing made for a server that cannot use it.
          expect(await fs.stat(path.join(work, 'ca')).catch(() => 'none')).toBe('none');
          await fs.rm(work, { recursive: true, force: true });
        });
      },
      20 * 60_000,
    );
  }
});

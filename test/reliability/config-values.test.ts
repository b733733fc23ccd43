/**
 * #16 defect 7: httpd expands `${VAR}` in every config line, so a value
 * holding `${` is refused (exit 2) by every option that reaches a config,
 * with the server's files byte-identical and nothing created. And bad --ip
 * values at the CLI (a `validateIp` switched off was caught by no test).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, newSandbox, tmpDir } from '../helpers.js';

let sr: string;
let work: string;
let hosts: string;
let mod: string;

/** Every file under `dir` with its bytes, for a before/after comparison. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(p, (await fs.readFile(p)).toString('base64'));
      else out.set(p, e.isSymbolicLink() ? `-> ${await fs.readlink(p)}` : '?');
    }
  };
  await walk(dir);
  return out;
}

beforeAll(async () => {
  ({ sr, work } = await newSandbox());
  hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const r = await cli(['new', 'mod_vals'], { cwd: work });
  if (r.code !== 0) throw new Error(r.stderr);
  mod = path.join(work, 'mod_vals');
}, 60_000);

const onTheWayOut: string[] = [];
afterAll(async () => {
  for (const d of [work, ...onTheWayOut]) await fs.rm(d, { recursive: true, force: true });
});

const V = '${HOME}';

/** [option, argv]: each puts one hostile value where it would reach a config (or the hosts file). */
const CASES: [string, () => string[]][] = [
  ['vhost add --docroot', () => ['vhost', 'add', 'dr.dd', '--docroot', `/tmp/apxs-ts-vals-a${V}`]],
  ['vhost add --docroot (relative)', () => ['vhost', 'add', 'dr.dd', '--docroot', `x${V}y`]],
  ['vhost add NAME', () => ['vhost', 'add', `a${V}.dd`]],
  ['vhost add --alias', () => ['vhost', 'add', 'al.dd', '--alias', `w${V}.dd`]],
  ['vhost add --ip', () => ['vhost', 'add', 'ip.dd', '--ip', V]],
  ['vhost add --port', () => ['vhost', 'add', 'pt.dd', '--port', `80${V}`]],
  ['vhost remove NAME', () => ['vhost', 'remove', `a${V}.dd`]],
  ['install --location', () => ['install', mod, '--location', `/a${V}`]],
  ['install --handler', () => ['install', mod, '--handler', `h${V}`]],
  ['ctl loglevel LEVEL', () => ['ctl', 'loglevel', `debug${V}`, '--no-reload']],
  [
    'ctl loglevel --module',
    () => ['ctl', 'loglevel', 'debug', '--module', `info${V}`, '--no-reload'],
  ],
  ['hosts add NAME', () => ['hosts', 'add', `h${V}.dd`]],
  ['hosts add --ip', () => ['hosts', 'add', 'h.dd', '--ip', V]],
];

describe('`${` in a value written into a config is refused (#16 defect 7)', () => {
  it(`${CASES.length} options x a \${HOME} value: every one exit 2, the server root and hosts file byte-identical, no directory made`, async () => {
    const before = await snapshot(sr);
    const hostsBefore = await fs.readFile(hosts, 'utf8');
    const tmpBefore = new Set(await fs.readdir('/tmp'));
    const bad: string[] = [];
    for (const [what, argv] of CASES) {
      const r = await cli([...argv(), '--server-root', sr, '--hosts-file', hosts, '--json'], {
        cwd: work,
      });
      if (r.code !== 2 || r.json?.ok !== false)
        bad.push(`${what}: exit ${r.code} ${r.stdout.slice(0, 200)}`);
    }
    expect(bad).toEqual([]);
    expect(await snapshot(sr)).toEqual(before);
    expect(await fs.readFile(hosts, 'utf8')).toBe(hostsBefore);
    const made = (await fs.readdir('/tmp')).filter(
      (e) => e.startsWith('apxs-ts-vals-a') && !tmpBefore.has(e),
    );
    expect(made).toEqual([]);
  }, 120_000);

  it('the docroot message says why: httpd would expand it', async () => {
    const r = await cli([
      'vhost',
      'add',
      'dr5.dd',
      '--docroot',
      `/tmp/a${V}`,
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('would expand ${…}');
  });

  it('a $ without a brace (httpd leaves it) is still a valid docroot', async () => {
    const d = await tmpDir('apxs-ts-vals-dollar-');
    onTheWayOut.push(d);
    const r = await cli([
      'vhost',
      'add',
      'dollar.dd',
      '--docroot',
      path.join(d, 'a$b'),
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
      '--json',
    ]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.documentRoot).toBe(path.join(d, 'a$b'));
    const rm = await cli([
      'vhost',
      'remove',
      'dollar.dd',
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
    ]);
    expect(rm.code).toBe(0);
  }, 60_000);
});

const BAD_IPS = [
  '1.2.3',
  '256.1.1.1',
  '::g',
  '1.2.3.4 5',
  '127.0.0.1\n8.8.8.8',
  'localhost',
  '-1',
  '',
];

describe('bad --ip values at the CLI', () => {
  it(`hosts add --ip: ${BAD_IPS.length} bad addresses, every one exit 2 and the hosts file unchanged`, async () => {
    const before = await fs.readFile(hosts, 'utf8');
    const codes = await Promise.all(
      BAD_IPS.map(
        async (ip) =>
          (await cli(['hosts', 'add', 'ipx.dd', '--ip', ip, '--hosts-file', hosts])).code,
      ),
    );
    expect(codes).toEqual(BAD_IPS.map(() => 2));
    expect(await fs.readFile(hosts, 'utf8')).toBe(before);
  }, 60_000);

  it(`vhost add --ip: ${BAD_IPS.length} bad addresses, every one exit 2 and the server root unchanged`, async () => {
    const before = await snapshot(sr);
    const codes: number[] = [];
    for (const ip of BAD_IPS)
      codes.push(
        (
          await cli([
            'vhost',
            'add',
            'ipx.dd',
            '--ip',
            ip,
            '--server-root',
            sr,
            '--hosts-file',
            hosts,
          ])
        ).code,
      );
    expect(codes).toEqual(BAD_IPS.map(() => 2));
    expect(await snapshot(sr)).toEqual(before);
  }, 60_000);

  it('good addresses are taken: hosts add --ip ::1 and 10.1.2.3', async () => {
    for (const ip of ['::1', '10.1.2.3'])
      expect((await cli(['hosts', 'add', 'good.dd', '--ip', ip, '--hosts-file', hosts])).code).toBe(
        0,
      );
    expect(await fs.readFile(hosts, 'utf8')).toMatch(/10\.1\.2\.3 good\.dd/);
  });
});

describe('a trailing dot is the same DNS name: refused, with the hint to drop it (#16)', () => {
  it('hosts add, hosts remove, vhost add, vhost add --alias, vhost remove: 5 of 5 exit 2, nothing changed', async () => {
    await cli(['hosts', 'add', 'trail.dd', '--hosts-file', hosts]);
    const before = await fs.readFile(hosts, 'utf8');
    const rootBefore = await snapshot(sr);
    const runs = [
      ['hosts', 'add', 'trail.dd.'],
      ['hosts', 'remove', 'trail.dd.'],
      ['vhost', 'add', 'trail.dd.'],
      ['vhost', 'add', 'other.dd', '--alias', 'trail.dd.'],
      ['vhost', 'remove', 'trail.dd.'],
    ];
    const results = [];
    for (const argv of runs)
      results.push(
        await cli([
          ...argv,
          ...(argv[0] === 'vhost' ? ['--server-root', sr] : []),
          '--hosts-file',
          hosts,
          '--json',
        ]),
      );
    expect(results.map((r) => r.code)).toEqual(runs.map(() => 2));
    expect(results.map((r) => r.json?.error?.code)).toEqual(runs.map(() => 'BAD_HOSTNAME'));
    expect(results[0]!.json.error.hint).toContain('drop it ("trail.dd")');
    expect(await fs.readFile(hosts, 'utf8')).toBe(before);
    expect(await snapshot(sr)).toEqual(rootBefore);
  }, 60_000);
});

/**
 * A property of apxs-ts on a copy of the real Debian tree (issue #17): any
 * sequence of apxs-ts install/uninstall/vhost add/remove/loglevel mixed with
 * the admin's a2enmod/a2dismod/a2ensite/a2dissite leaves
 *  - every conffile the apache2 packages shipped under /etc/apache2 (dpkg's
 *    md5) byte-identical, and the stock .so files too, unless an install
 *    --force over them is still in place (it is undone before the end);
 *  - every admin file (an enabled site, a disabled module .load) as it was;
 *  - the a2* view and apxs-ts's in agreement: a *-enabled link exactly when
 *    an enabled_by_* marker (what a2query reads), and `vhost list` marking a
 *    site disabled exactly when it has no sites-enabled link;
 *  - a config httpd accepts.
 * The sequence is random from a seed printed at the start (APXS_TS_SEED=N
 * runs that one again).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import {
  ADJUSTED,
  a2,
  apxs,
  debianTree,
  md5,
  shippedFiles,
  stopTree,
  type DebianTree,
} from './debian-tree.js';

const STEPS = Number(process.env.APXS_TS_STEPS ?? 40);
const SEED = Number(process.env.APXS_TS_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: small, seeded, good enough to pick steps. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

let t: DebianTree;
const adminFiles = new Map<string, Buffer>();
const adjusted = new Map<string, Buffer>();
const shipped = shippedFiles();
const stockSo = ['mod_info.so', 'mod_status.so'];

beforeAll(async () => {
  t = await debianTree('apxs-ts-deb-prop-');
  await fs.mkdir(path.join(t.root, 'modules'), { mode: 0o755 });
  for (const so of stockSo)
    await fs.copyFile(`/usr/lib/apache2/modules/${so}`, path.join(t.root, 'modules', so));
  for (const name of ['info', 'hi', 'foo']) {
    const r = await cli(['new', name, '--template', 'handler', '--dir', t.work]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const shop = path.join(t.root, 'sites-available', 'shop.dd.conf');
  await fs.writeFile(
    shop,
    `# the admin's shop\n<VirtualHost *:${t.port}>\n\tServerName shop.dd\n\tDocumentRoot /var/www/html\n</VirtualHost>\n`,
  );
  if ((await a2(t, 'a2ensite', 'shop.dd')).code !== 0) throw new Error('a2ensite shop.dd');
  await fs.writeFile(
    path.join(t.root, 'mods-available', 'foo.load'),
    "# the admin's foo, disabled\nLoadModule foo_module /usr/local/lib/foo/mod_foo.so\n",
  );
  for (const f of ['sites-available/shop.dd.conf', 'mods-available/foo.load'])
    adminFiles.set(f, await fs.readFile(path.join(t.root, f)));
  for (const f of ADJUSTED) adjusted.set(f, await fs.readFile(path.join(t.root, f)));
}, 120_000);
afterAll(() => stopTree(t));

interface Model {
  installed: Set<string>;
  /** Modules installed with --force over someone else's, not yet uninstalled. */
  forced: Set<string>;
  vhosts: Set<string>;
}

type Step = { name: string; run: (m: Model) => Promise<void> };

async function expectCode(
  what: string,
  p: Promise<{ code: number; stdout?: string; stderr?: string; out?: string }>,
  codes: number[],
): Promise<void> {
  const r = await p;
  expect(codes, `${what}: exit ${r.code}\n${r.stdout ?? ''}${r.stderr ?? r.out ?? ''}`).toContain(
    r.code,
  );
}

const STEPS_TABLE: Step[] = [
  {
    name: 'install hi',
    run: async (m) => {
      await expectCode('install hi', apxs(t, ['install', path.join(t.work, 'mod_hi')]), [0]);
      m.installed.add('hi');
    },
  },
  {
    name: 'uninstall hi',
    run: async (m) => {
      await expectCode('uninstall hi', apxs(t, ['uninstall', 'hi']), [
        0, // already absent is not an error (#23)
      ]);
      m.installed.delete('hi');
    },
  },
  {
    name: 'install info',
    run: async (m) => {
      await expectCode('install info', apxs(t, ['install', path.join(t.work, 'mod_info')]), [
        m.installed.has('info') ? 0 : 2,
      ]);
    },
  },
  {
    name: 'install info --force',
    run: async (m) => {
      await expectCode(
        'install info --force',
        apxs(t, ['install', path.join(t.work, 'mod_info'), '--force']),
        [0],
      );
      m.installed.add('info');
      m.forced.add('info');
    },
  },
  {
    name: 'uninstall info',
    run: async (m) => {
      await expectCode('uninstall info', apxs(t, ['uninstall', 'info']), [
        0, // already absent is not an error (#23)
      ]);
      m.installed.delete('info');
      m.forced.delete('info');
    },
  },
  {
    name: 'install foo',
    run: async (m) => {
      await expectCode('install foo', apxs(t, ['install', path.join(t.work, 'mod_foo')]), [
        m.installed.has('foo') ? 0 : 2,
      ]);
    },
  },
  {
    name: 'install foo --force',
    run: async (m) => {
      await expectCode(
        'install foo --force',
        apxs(t, ['install', path.join(t.work, 'mod_foo'), '--force']),
        [0],
      );
      m.installed.add('foo');
      m.forced.add('foo');
    },
  },
  {
    name: 'uninstall foo',
    run: async (m) => {
      await expectCode('uninstall foo', apxs(t, ['uninstall', 'foo']), [
        0, // already absent is not an error (#23)
      ]);
      m.installed.delete('foo');
      m.forced.delete('foo');
    },
  },
  ...['one.dd', 'two.dd'].flatMap((v): Step[] => [
    {
      name: `vhost add ${v}`,
      run: async (m) => {
        await expectCode(`vhost add ${v}`, apxs(t, ['vhost', 'add', v]), [0]);
        m.vhosts.add(v);
      },
    },
    {
      name: `vhost remove ${v}`,
      run: async (m) => {
        await expectCode(`vhost remove ${v}`, apxs(t, ['vhost', 'remove', v]), [
          0, // already absent is not an error (#23)
        ]);
        m.vhosts.delete(v);
      },
    },
  ]),
  ...['shop.dd', 'default-ssl', '000-default'].map(
    (v): Step => ({
      name: `vhost add ${v}`,
      run: () => expectCode(`vhost add ${v}`, apxs(t, ['vhost', 'add', v]), [2]),
    }),
  ),
  // alias: always loaded (a LogLevel NAME:LEVEL of a module httpd has not loaded is a syntax error).
  {
    name: 'loglevel debug --module alias',
    run: () =>
      expectCode('loglevel', apxs(t, ['ctl', 'loglevel', 'debug', '--module', 'alias']), [0]),
  },
  {
    name: 'loglevel info',
    run: () => expectCode('loglevel', apxs(t, ['ctl', 'loglevel', 'info']), [0]),
  },
  {
    name: 'loglevel --reset',
    run: () => expectCode('loglevel', apxs(t, ['ctl', 'loglevel', '--reset']), [0]),
  },
  // The admin's tools: their exit codes are theirs (a2dismod of a module that is not there is an error); apxs-ts must cope with what they leave.
  ...['hi', 'info', 'status'].flatMap((n): Step[] => [
    {
      name: `a2enmod ${n}`,
      run: async () => {
        await a2(t, 'a2enmod', n);
      },
    },
    {
      name: `a2dismod ${n}`,
      run: async () => {
        await a2(t, 'a2dismod', n);
      },
    },
  ]),
  // Not default-ssl: enabled without mod_ssl it breaks the config (httpd -t: SSLEngine), and apxs-ts rightly refuses every edit then.
  ...['one.dd', 'two.dd', 'shop.dd', '000-default'].flatMap((n): Step[] => [
    {
      name: `a2ensite ${n}`,
      run: async () => {
        await a2(t, 'a2ensite', n);
      },
    },
    {
      name: `a2dissite ${n}`,
      run: async () => {
        await a2(t, 'a2dissite', n);
      },
    },
  ]),
  {
    name: 'a2disconf apxs-ts-loglevel',
    run: async () => {
      await a2(t, 'a2disconf', 'apxs-ts-loglevel');
    },
  },
  {
    name: 'a2enconf apxs-ts-loglevel',
    run: async () => {
      await a2(t, 'a2enconf', 'apxs-ts-loglevel');
    },
  },
];

const exists = (p: string) =>
  fs.lstat(p).then(
    () => true,
    () => false,
  );

/** The files an install --force over `module` may change until its uninstall. */
const forcedPaths = (module: string) => [
  `mods-available/${module}.load`,
  `mods-available/${module}.conf`,
];

async function checkInvariants(m: Model, when: string): Promise<void> {
  const changed: string[] = [];
  const forcedFiles = new Set([...m.forced].flatMap(forcedPaths));
  for (const f of shipped) {
    if (ADJUSTED.includes(f.rel) || forcedFiles.has(f.rel)) continue;
    if ((await md5(path.join(t.root, f.rel))) !== f.md5) changed.push(f.rel);
  }
  for (const [f, bytes] of adjusted)
    if (!(await fs.readFile(path.join(t.root, f))).equals(bytes)) changed.push(f);
  for (const so of stockSo) {
    if (m.forced.has(so.replace(/^mod_|\.so$/g, ''))) continue;
    if (
      (await md5(path.join(t.root, 'modules', so))) !==
      (await md5(`/usr/lib/apache2/modules/${so}`))
    )
      changed.push(`modules/${so}`);
  }
  for (const [f, bytes] of adminFiles) {
    if (m.forced.has('foo') && f === 'mods-available/foo.load') continue;
    const now = await fs.readFile(path.join(t.root, f)).catch(() => undefined);
    if (!now?.equals(bytes)) changed.push(`admin's ${f}`);
  }
  expect(changed, `${when}: files apxs-ts must not change (seed ${SEED})`).toEqual([]);

  // a2query's view: a link exactly when an enabled_by_* marker.
  const disagree: string[] = [];
  for (const [kind, obj, ext] of [
    ['mods', 'module', '.load'],
    ['sites', 'site', '.conf'],
    ['conf', 'conf', '.conf'],
  ] as const) {
    const linked = new Set(
      (await fs.readdir(path.join(t.root, `${kind}-enabled`)))
        .filter((n) => n.endsWith(ext))
        .map((n) => n.slice(0, -ext.length)),
    );
    const marked = new Set<string>();
    for (const d of ['enabled_by_admin', 'enabled_by_maint'])
      for (const n of await fs.readdir(path.join(t.state, obj, d)).catch(() => [] as string[]))
        marked.add(n);
    for (const n of linked)
      if (!marked.has(n)) disagree.push(`${kind}-enabled/${n}${ext} without an enabled_by marker`);
    for (const n of marked)
      if (!linked.has(n)) disagree.push(`${obj} marker for ${n} without its ${kind}-enabled link`);
  }
  // vhost list: a site is listed disabled exactly when it has no sites-enabled link.
  const list = await apxs(t, ['vhost', 'list', '--json']);
  expect(list.code, list.stdout + list.stderr).toBe(0);
  for (const v of list.json.vhosts as { file: string; disabled: boolean }[]) {
    const site = path.basename(v.file);
    const linked = await exists(path.join(t.root, 'sites-enabled', site));
    if (linked === v.disabled)
      disagree.push(
        `vhost list says ${site} is ${v.disabled ? 'disabled' : 'enabled'}, sites-enabled says otherwise`,
      );
  }
  for (const n of m.vhosts) {
    if (!(list.json.vhosts as { serverName?: string }[]).some((v) => v.serverName === n))
      disagree.push(`vhost ${n} not in vhost list`);
  }
  expect(disagree, `${when} (seed ${SEED})`).toEqual([]);
}

it(`random apxs-ts and a2* steps keep the package's and the admin's files and agree with a2query (${STEPS} steps, seed ${SEED})`, async () => {
  // eslint-disable-next-line no-console
  console.log(`debian-property: seed ${SEED} (APXS_TS_SEED=${SEED} repeats it), ${STEPS} steps`);
  const rand = rng(SEED);
  const m: Model = { installed: new Set(), forced: new Set(), vhosts: new Set() };
  await checkInvariants(m, 'before any step');
  const done: string[] = [];
  for (let i = 0; i < STEPS; i++) {
    const step = STEPS_TABLE[Math.floor(rand() * STEPS_TABLE.length)]!;
    done.push(step.name);
    await step.run(m);
    if (i % 10 === 9) await checkInvariants(m, `after steps ${done.join(', ')}`);
  }
  // Undo what --force replaced, and apxs-ts's own changes, then everything shipped is back byte for byte.
  for (const n of [...m.installed])
    await STEPS_TABLE.find((s) => s.name === `uninstall ${n}`)!.run(m);
  for (const v of [...m.vhosts])
    await STEPS_TABLE.find((s) => s.name === `vhost remove ${v}`)!.run(m);
  await STEPS_TABLE.find((s) => s.name === 'loglevel --reset')!.run(m);
  await checkInvariants(m, `at the end, after steps ${done.join(', ')}`);
  for (const p of [
    'mods-available/hi.load',
    'sites-available/one.dd.conf',
    'sites-available/two.dd.conf',
    'conf-available/apxs-ts-loglevel.conf',
  ]) {
    expect(
      await exists(path.join(t.root, p)),
      `${p} left after undoing everything (seed ${SEED})`,
    ).toBe(false);
  }
  const ct = await apxs(t, ['ctl', 'configtest']);
  expect(ct.code, ct.stderr).toBe(0);
}, 600_000);

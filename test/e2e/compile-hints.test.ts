/**
 * Issue #18 item 4: a compile error naming an identifier the target's headers
 * declare gets the `#include` that declares it, found in the target's include
 * directories. Per series (system 2.4, built 2.2 and 1.3) and language, the
 * handler template loses its http_log.h and http_protocol.h includes (as the
 * blog's handler shows only httpd.h and http_config.h); the build fails, and
 * the hint is followed literally: each `#include "X"` it names is added, the
 * build then succeeds. On 2.4 the module is installed and httpd answers.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox, tmpDir } from '../helpers.js';
import { builtHttpd } from '../series-builds.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

const STRIPPED = ['http_log.h', 'http_protocol.h'];

/** Scaffolds the handler, removes the includes, builds: the failure. */
async function failing(root: string, cpp: boolean, name: string) {
  const work = await tmpDir('apxs-ts-advice-cc-');
  const made = await cli(
    [
      'new',
      name,
      '--template',
      'handler',
      ...(cpp ? ['--cpp'] : []),
      '--server-root',
      root,
      '--json',
    ],
    { cwd: work },
  );
  expect(made.code, made.stderr).toBe(0);
  const dir = path.join(work, `mod_${name}`);
  const src = path.join(dir, `mod_${name}.${cpp ? 'cpp' : 'c'}`);
  const text = await fs.readFile(src, 'utf8');
  const stripped = text
    .split('\n')
    .filter((l) => !STRIPPED.some((h) => l === `#include "${h}"`))
    .join('\n');
  expect(stripped).not.toBe(text);
  await fs.writeFile(src, stripped);
  const built = await cli(['build', '--server-root', root, '--json'], { cwd: dir });
  return { dir, src, built };
}

/** Follows the hint as written: each `#include "X"` it names goes after the last #include of the source. */
async function follow(src: string, hint: string): Promise<string[]> {
  const headers = [...hint.matchAll(/add #include "([^"]+)"/g)].map((m) => m[1]!);
  const lines = (await fs.readFile(src, 'utf8')).split('\n');
  const last = lines
    .map((l, i) => (l.startsWith('#include') ? i : -1))
    .reduce((a, b) => Math.max(a, b));
  lines.splice(last + 1, 0, ...headers.map((h) => `#include "${h}"`));
  await fs.writeFile(src, lines.join('\n'));
  return headers;
}

const TARGETS = [
  { series: '2.4', root: async () => (await newSandbox(roots)).sr },
  { series: '2.2', root: async () => (await builtHttpd('2.2.34')).prefix },
  { series: '1.3', root: async () => (await builtHttpd('1.3.42')).prefix },
];

describe('compile errors name the #include that declares the identifier (#18 item 4)', () => {
  for (const t of TARGETS) {
    for (const cpp of [false, true]) {
      it(`${t.series} ${cpp ? 'C++' : 'C'}: the hint names http_log.h (APLOG_MARK) from the target's headers; following it builds`, async () => {
        const root = await t.root();
        const name = `adv${t.series.replace('.', '')}${cpp ? 'x' : 'c'}`;
        const { dir, src, built } = await failing(root, cpp, name);
        expect(built.code).toBe(1);
        expect(built.json.error.code).toBe('COMPILE_FAILED');
        const hint: string = built.json.error.hint;
        expect(hint).toMatch(/add #include "http_log\.h" \(\S+: declares [^)]*APLOG_MARK/);
        // Found in this target's own include directory, not a list: its path is the target's.
        const vars = await cli(['query', 'INCLUDEDIR', '--server-root', root]);
        const includedir = vars.stdout.trim();
        for (const inc of built.json.includes)
          expect(inc.path.startsWith('/'), inc.path).toBe(true);
        expect(
          built.json.includes.find((i: { header: string }) => i.header === 'http_log.h').path,
        ).toBe(path.join(includedir, 'http_log.h'));
        const headers = await follow(src, hint);
        expect(
          headers.every((h) => STRIPPED.includes(h)),
          headers.join(),
        ).toBe(true);
        const again = await cli(['build', '--server-root', root, '--json'], { cwd: dir });
        expect(again.code, again.stdout).toBe(0);
        if (t.series === '2.4') {
          expect((await cli(['install', '--server-root', root], { cwd: dir })).code).toBe(0);
          const start = await cli(['ctl', 'start', '--server-root', root, '--json']);
          expect(start.code, start.stdout).toBe(0);
          const page = await get(`${start.json.healthUrl.replace(/\/[^/]*$/, '')}/${name}`);
          expect(page.status).toBe(200);
          expect(page.body).toContain(`<h1>mod_${name}${cpp ? ' (C++)' : ''}</h1>`);
        }
      });
    }
  }

  it('apr_table_do, not declared when apr_tables.h is missing from a C++ source: the hint names apr_tables.h of the target', async () => {
    const { sr } = await newSandbox(roots);
    const work = await tmpDir('apxs-ts-advice-cc-');
    expect(
      (
        await cli(['new', 'tabledo', '--cpp', '--template', 'hello', '--server-root', sr], {
          cwd: work,
        })
      ).code,
    ).toBe(0);
    const dir = path.join(work, 'mod_tabledo');
    // Only apr_tables' own header declares apr_table_do; a source that includes nothing of httpd names it undeclared.
    await fs.writeFile(
      path.join(dir, 'mod_tabledo.cpp'),
      'static int cb(void *, const char *, const char *) { return 1; }\nint f(void *t) { return apr_table_do(cb, 0, (apr_table_t *) t, (const char *) 0); }\n',
    );
    const built = await cli(['build', '--server-root', sr, '--json'], { cwd: dir });
    expect(built.code).toBe(1);
    expect(built.json.error.hint).toContain('add #include "apr_tables.h"');
    expect(built.json.error.hint).toMatch(/declares [^)]*apr_table_do/);
  });
});

/**
 * Attacks on `apxs-ts test` (#20) through files another user controls. A
 * case file's `config` reaches httpd, which apxs-ts starts as root: a
 * `CustomLog "|prog"` runs prog as root; the module directory's sources are
 * compiled and loaded into that httpd (a constructor runs as root). So the
 * case files and the module directory are judged like every other found
 * config (lib/core/trust.ts): owned by the user or root, writable by no one
 * else, symlinks judged by their targets, else UNSAFE_CONFIG (exit 2) with
 * the planted program never run. Controls: the same plants made root's
 * (and nobody's with --trust) do run, so each refusal is the rule's.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
let work: string;
let cacheEnv: Record<string, string>;
let scaffold: string;

beforeAll(async () => {
  if (!isRoot) return;
  work = await tmpDir('apxs-ts-atk20trust-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  const n = await cli(['new', 'hi', '--template', 'hello', '--dir', work], { env: cacheEnv });
  expect(n.code, n.stderr).toBe(0);
  scaffold = path.join(work, 'mod_hi');
}, 60_000);
afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

/** A copy of the scaffold in a fresh dir; its case file's config pipes the access log to a program that writes `mark`. */
async function plantedModule(
  tag: string,
): Promise<{ base: string; mod: string; mark: string; caseText: string }> {
  const base = await fs.mkdtemp(path.join(work, `${tag}-`));
  await fs.chmod(base, 0o755);
  const mod = path.join(base, 'mod_hi');
  execFileSync('cp', ['-a', scaffold, mod]);
  const mark = path.join(base, 'MARK');
  const prog = path.join(base, 'prog.sh');
  await fs.writeFile(prog, `#!/bin/sh\necho ran >> '${mark}'\ncat > /dev/null\n`, { mode: 0o755 });
  const caseText = `config: |\n  CustomLog "|${prog}" common\ncases:\n  - name: a\n    request: /hi\n    expect: { status: 200 }\n`;
  await fs.writeFile(path.join(mod, 'tests', 'hi.yaml'), caseText);
  return { base, mod, mark, caseText };
}

/** Waits a little for a piped logger that was started (it writes as soon as it runs). */
async function ran(mark: string): Promise<boolean> {
  for (let i = 0; i < 20 && !(await exists(mark)); i++) await new Promise((r) => setTimeout(r, 50));
  return exists(mark);
}

type Variant = [string, (p: Awaited<ReturnType<typeof plantedModule>>) => Promise<void>];

const variants: Variant[] = [
  [
    'the tests/ dir writable by every user',
    async ({ mod }) => {
      await fs.chmod(path.join(mod, 'tests'), 0o777);
    },
  ],
  [
    'the case file owned by nobody',
    async ({ mod }) => {
      await fs.chown(path.join(mod, 'tests', 'hi.yaml'), NOBODY, 65534);
    },
  ],
  [
    "the case file root's symlink to nobody's file",
    async ({ base, mod, caseText }) => {
      const other = path.join(base, 'nobodys');
      await fs.mkdir(other, { mode: 0o755 });
      await fs.writeFile(path.join(other, 'hi.yaml'), caseText);
      await fs.chown(path.join(other, 'hi.yaml'), NOBODY, 65534);
      await fs.rm(path.join(mod, 'tests', 'hi.yaml'));
      await fs.symlink(path.join(other, 'hi.yaml'), path.join(mod, 'tests', 'hi.yaml'));
    },
  ],
  [
    "tests/ a symlink to nobody's directory",
    async ({ base, mod }) => {
      const other = path.join(base, 'nobodys-tests');
      await fs.rename(path.join(mod, 'tests'), other);
      execFileSync('chown', ['-R', `${NOBODY}:65534`, other]);
      await fs.symlink(other, path.join(mod, 'tests'));
    },
  ],
];

describe.skipIf(!isRoot)('apxs-ts test: case files and module dirs another user controls', () => {
  it("4 plants in the case files (writable dir, nobody's file, symlinked file, symlinked tests/): 4 of 4 refused, UNSAFE_CONFIG exit 2, the program never runs; root's own plant and --trust run it", async () => {
    const outcomes: string[] = [];
    for (const [name, plant] of variants) {
      const p = await plantedModule('v');
      await plant(p);
      const r = await cli(['test', p.mod, '--json'], {
        env: { ...cacheEnv, TMPDIR: p.base },
        timeoutMs: 120_000,
      });
      const didRun = await ran(p.mark);
      outcomes.push(`${name}: exit ${r.code} ${r.json?.error?.code ?? 'ok'} ran=${didRun}`);
      expect(r.code, outcomes.join('\n') + r.stderr).toBe(2);
      expect(r.json?.error?.code).toBe('UNSAFE_CONFIG');
      expect(didRun, name).toBe(false);
      // --trust of the plant's base: the same files run (the refusal was the trust rule's).
      const t = await cli(['test', p.mod, '--json', '--trust', p.base], {
        env: { ...cacheEnv, TMPDIR: p.base },
        timeoutMs: 120_000,
      });
      expect(t.code, `${name} --trust: ${t.stderr}`).toBe(0);
      expect(await ran(p.mark), `${name} --trust`).toBe(true);
    }
    // Control: root's own plant runs (the program, and the check that it ran, work).
    const own = await plantedModule('own');
    const r = await cli(['test', own.mod, '--json'], {
      env: { ...cacheEnv, TMPDIR: own.base },
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await ran(own.mark)).toBe(true);
  }, 300_000);

  it("a module dir owned by nobody (its source runs as root when httpd loads the .so): refused with --file naming root's own case file, nothing compiled", async () => {
    const p = await plantedModule('moddir');
    const so = path.join(p.mod, 'mod_hi.c');
    // A constructor: runs in httpd (root) as the .so is loaded.
    const src = await fs.readFile(so, 'utf8');
    await fs.writeFile(
      so,
      `${src}\n#include <stdio.h>\n__attribute__((constructor)) static void planted(void) { FILE *f = fopen("${p.mark}", "a"); if (f) { fputs("ran\\n", f); fclose(f); } }\n`,
    );
    const cases = path.join(p.base, 'root-cases.yaml');
    await fs.writeFile(
      cases,
      'cases:\n  - name: a\n    request: /hi\n    expect: { status: 200 }\n',
    );
    execFileSync('chown', ['-R', `${NOBODY}:65534`, p.mod]);
    const r = await cli(['test', p.mod, '--file', cases, '--json'], {
      env: { ...cacheEnv, TMPDIR: p.base },
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.json?.error?.code).toBe('UNSAFE_CONFIG');
    expect(await ran(p.mark)).toBe(false);
    expect((await fs.readdir(p.mod)).filter((n) => n.endsWith('.so') || n.endsWith('.o'))).toEqual(
      [],
    );
    const t = await cli(['test', p.mod, '--file', cases, '--json', '--trust', p.mod], {
      env: { ...cacheEnv, TMPDIR: p.base },
      timeoutMs: 120_000,
    });
    expect(t.code, t.stderr).toBe(0);
    expect(await ran(p.mark)).toBe(true);
  }, 180_000);

  it("a header owned by nobody in root's module dir, included by root's source: refused, nothing compiled; --trust runs it", async () => {
    const p = await plantedModule('header');
    const src = path.join(p.mod, 'mod_hi.c');
    await fs.writeFile(src, `#include "planted.h"\n${await fs.readFile(src, 'utf8')}`);
    const header = path.join(p.mod, 'planted.h');
    await fs.writeFile(
      header,
      `#include <stdio.h>\n__attribute__((constructor)) static void planted(void) { FILE *f = fopen("${p.mark}", "a"); if (f) { fputs("ran\\n", f); fclose(f); } }\n`,
    );
    await fs.chown(header, NOBODY, 65534);
    const cases = path.join(p.base, 'root-cases.yaml');
    await fs.writeFile(
      cases,
      'cases:\n  - name: a\n    request: /hi\n    expect: { status: 200 }\n',
    );
    const r = await cli(['test', p.mod, '--file', cases, '--json'], {
      env: { ...cacheEnv, TMPDIR: p.base },
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.json?.error?.code).toBe('UNSAFE_CONFIG');
    expect(r.json?.error?.message).toContain('planted.h');
    expect(await ran(p.mark)).toBe(false);
    const t = await cli(['test', p.mod, '--file', cases, '--json', '--trust', p.mod], {
      env: { ...cacheEnv, TMPDIR: p.base },
      timeoutMs: 120_000,
    });
    expect(t.code, t.stderr).toBe(0);
    expect(await ran(p.mark)).toBe(true);
  }, 180_000);
});

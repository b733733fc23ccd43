/**
 * `apxs-ts test` on every series: the 2.x scaffolds' case files pass on
 * 2.0.65, 2.2.34 and 2.4.68 in one run (one throwaway clone of each shared
 * prefix per case file; a case × series table), and the 1.3 scaffolds'
 * on 1.3.42. The shared prefixes (test/series-builds.ts) are only read,
 * under their use locks, and are byte for byte as they were afterwards.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';
import { withBuiltHttpd, type BuiltHttpd } from '../series-builds.js';

let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  work = await tmpDir('apxs-ts-t20s-');
  // A cache dir of this file's own (other checkouts' CLIs write the shared one in their own formats), and a TMPDIR to count roots in.
  await fs.mkdir(path.join(work, 'tmp'), { mode: 0o755 });
  env = { XDG_CACHE_HOME: path.join(work, 'cache'), TMPDIR: path.join(work, 'tmp') };
});

/** The prefix's conf/ as text, to show the clone never wrote to it. */
const confOf = (prefix: string) =>
  execFileSync(
    'sh',
    [
      '-c',
      `cd ${prefix} && find conf modules libexec -type f 2>/dev/null | sort | xargs sha256sum`,
    ],
    { encoding: 'utf8' },
  );

async function scaffold(name: string, template: string, api: string): Promise<string> {
  const r = await cli(['new', name, '--template', template, '--api', api, '--dir', work], { env });
  expect(r.code, r.stderr).toBe(0);
  return path.join(work, `mod_${name}`);
}

/** Holds the use locks of several versions (in one fixed order, as every test takes them). */
async function withAll<T>(
  versions: string[],
  fn: (h: BuiltHttpd[]) => Promise<T>,
  held: BuiltHttpd[] = [],
): Promise<T> {
  const [first, ...rest] = versions;
  if (first === undefined) return fn(held);
  return withBuiltHttpd(first, (h) => withAll(rest, fn, [...held, h]));
}

describe("the scaffolds' case files on every series", () => {
  it.each(['hello', 'handler', 'info'])(
    '%s (module API 2) passes on 2.0.65, 2.2.34 and 2.4.68 in one run, with a case × series table',
    async (template) => {
      const dir = await scaffold(`s2${template}`, template, '2');
      await withAll(['2.0.65', '2.2.34', '2.4.68'], async (hs) => {
        const before = hs.map((h) => confOf(h.prefix));
        const r = await cli(['test', ...hs.flatMap((h) => ['--server-root', h.prefix]), '--json'], {
          cwd: dir,
          env,
          timeoutMs: 600_000,
        });
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.json.targets.map((t: { label: string }) => t.label)).toEqual([
          '2.0.65',
          '2.2.34',
          '2.4.68',
        ]);
        const perCase = template === 'handler' ? 2 : 3;
        expect([r.json.total, r.json.passed]).toEqual([3 * perCase, 3 * perCase]);
        expect(hs.map((h) => confOf(h.prefix))).toEqual(before);
        const human = await cli(['test', ...hs.flatMap((h) => ['--server-root', h.prefix])], {
          cwd: dir,
          env,
          timeoutMs: 600_000,
        });
        expect(human.stderr).toMatch(/^case\s+2\.0\.65\s+2\.2\.34\s+2\.4\.68$/m);
        expect(human.stderr.split('\n').filter((l) => / pass\s+pass\s+pass$/.test(l))).toHaveLength(
          perCase,
        );
      });
      expect(
        (await fs.readdir(env.TMPDIR!)).filter((n) => n.startsWith('apxs-ts-testroot-')),
      ).toEqual([]);
    },
    900_000,
  );

  it.each(['hello', 'handler', 'info'])(
    '%s (module API 1.3) passes on 1.3.42; a 2.x module is skipped there, named',
    async (template) => {
      const dir = await scaffold(`s13${template}`, template, '1.3');
      await withBuiltHttpd('1.3.42', async (h) => {
        const r = await cli(['test', '--server-root', h.prefix, '--json'], {
          cwd: dir,
          env,
          timeoutMs: 600_000,
        });
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.json.targets).toEqual([
          expect.objectContaining({ label: '1.3.42', skipped: null }),
        ]);
        expect(r.json.passed).toBe(template === 'handler' ? 2 : 3);
        if (template === 'hello') {
          const two = await scaffold('s13twox', 'hello', '2');
          const s = await cli(['test', '--server-root', h.prefix, '--json'], {
            cwd: two,
            env,
            timeoutMs: 600_000,
          });
          expect(s.code).toBe(0);
          expect(s.json.total).toBe(0);
          expect(s.json.targets[0].skipped).toMatch(
            /written for the httpd 2\.x module API, not the Apache 1\.3 module API/,
          );
        }
      });
    },
    900_000,
  );

  it('--series 2.0 picks the installed 2.0 release (source versions); a series none is installed of is exit 2', async () => {
    const dir = await scaffold('sseries', 'hello', '2');
    await withBuiltHttpd('2.0.65', async (h) => {
      // This file's cache dir lists the builds made elsewhere that `source versions` knows: here only the shared 2.0 build.
      const receipt = JSON.parse(
        await fs.readFile(path.join(h.prefix, 'apxs-ts-receipt.json'), 'utf8'),
      );
      await fs.mkdir(path.join(env.XDG_CACHE_HOME!, 'apxs-ts'), { recursive: true });
      await fs.writeFile(
        path.join(env.XDG_CACHE_HOME!, 'apxs-ts', 'prefixes.json'),
        JSON.stringify({
          entries: [{ prefix: h.prefix, version: h.version, builtAt: receipt.builtAt }],
        }),
      );
      const versions = await cli(['source', 'versions', '--json'], { env });
      const twoOh = versions.json.installs.filter((i: { version: string }) =>
        i.version.startsWith('2.0.'),
      );
      expect(twoOh.map((i: { prefix: string }) => i.prefix)).toEqual([h.prefix]);
      const r = await cli(['test', '--series', '2.0', '--json'], {
        cwd: dir,
        env,
        timeoutMs: 600_000,
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.json.targets).toEqual([
        expect.objectContaining({ label: '2.0.65', serverRoot: h.prefix, skipped: null }),
      ]);
      expect(r.json.passed).toBe(3);
    });
    const none = await cli(['test', '--series', '3.1', '--json'], { cwd: dir, env });
    expect(none.code).toBe(2);
    expect(none.json.error.message).toBe('no httpd 3.1 built by apxs-ts is installed');
  }, 900_000);
});

/**
 * Include fan-out (reliability review, scenario 13): Include globs whose
 * files include the same globs again. httpd refuses such a config in 0.15 s;
 * reading it must fail as fast, and `ctl stop` must not read it at all.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import { canBind } from '../../lib/core/ports.js';
import { processesOf } from '../../lib/ctl/identity.js';
import { loadConfTree } from '../../lib/httpd/conf-tree.js';
import { cliWithin, newSandbox } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cliWithin(['ctl', 'stop', '--server-root', sr], 30_000);
});

/** Two files that each Include conf/fan/*.conf; fan/ holds 10 files that each Include conf/fan/*.conf. */
async function fanOut(sr: string): Promise<void> {
  const fan = path.join(sr, 'conf', 'fan');
  await fs.mkdir(fan, { recursive: true });
  for (let i = 0; i < 10; i++)
    await fs.writeFile(path.join(fan, `f${i}.conf`), `# fan ${i}\nInclude conf/fan/*.conf\n`);
  for (const n of ['one', 'two'])
    await fs.writeFile(path.join(sr, 'conf', `${n}.conf`), 'Include conf/fan/*.conf\n');
  await fs.appendFile(
    path.join(sr, 'conf', 'httpd.conf'),
    'Include conf/one.conf\nInclude conf/two.conf\n',
  );
}

/** No loop, but 6 layers of 10 files, each including all of the next layer: 10^6 reads. */
async function layered(sr: string): Promise<void> {
  for (let l = 1; l <= 6; l++) {
    const dir = path.join(sr, 'conf', `l${l}`);
    await fs.mkdir(dir, { recursive: true });
    for (let i = 0; i < 10; i++)
      await fs.writeFile(
        path.join(dir, `f${i}.conf`),
        l < 6 ? `Include conf/l${l + 1}/*.conf\n` : `# leaf ${i}\n`,
      );
  }
  await fs.appendFile(path.join(sr, 'conf', 'httpd.conf'), 'Include conf/l1/*.conf\n');
}

/** loadConfTree, or the error it threw, or 'hung' after `ms`. */
async function loadWithin(sr: string, ms: number): Promise<{ err: unknown; ms: number }> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms)));
  const res = await Promise.race([
    loadConfTree(path.join(sr, 'conf', 'httpd.conf'), { serverRoot: sr }).then(
      () => undefined,
      (e: unknown) => e,
    ),
    hung,
  ]);
  clearTimeout(timer);
  return { err: res, ms: Date.now() - t0 };
}

describe('13. Include fan-out', () => {
  it('a fan-out loop: loadConfTree throws CONFIG_BROKEN naming the Include file:line within 5 s (2 checks)', async () => {
    const { sr } = await newSandbox(roots);
    await fanOut(sr);
    const { err, ms } = await loadWithin(sr, 5000);
    expect(err).toBeInstanceOf(ApxsError);
    expect((err as ApxsError).code).toBe('CONFIG_BROKEN');
    expect((err as ApxsError).message).toMatch(
      /conf\/fan\/f0\.conf:2: Include conf\/fan\/\*\.conf: Includes nested more than 128 deep/,
    );
    expect(ms).toBeLessThan(5000);
  });

  it('a fan-out without a loop (10^6 reads): CONFIG_TOO_LARGE within 5 s (2 checks)', async () => {
    const { sr } = await newSandbox(roots);
    await layered(sr);
    const { err, ms } = await loadWithin(sr, 5000);
    expect(err).toBeInstanceOf(ApxsError);
    expect((err as ApxsError).code).toBe('CONFIG_TOO_LARGE');
    expect((err as ApxsError).message).toMatch(
      /conf\/l\d\/f\d\.conf:1: Include conf\/l\d\/\*\.conf: the config includes more than 20000 files/,
    );
    expect(ms).toBeLessThan(5000);
  });

  // Commands that read the config (ctl status does not: it reads what start
  // recorded). Without the guards each of these reads for minutes (the loop
  // never ends; the layered config is 10^6 reads): killed at 10 s, code 124.
  it('vhost list and vhost check on both bombs: the guard code at the Include, within 5 s (2 configs x 2 commands)', async () => {
    for (const [bomb, code, at] of [
      [fanOut, 'CONFIG_BROKEN', /conf\/fan\/f\d\.conf:2: Include/],
      [layered, 'CONFIG_TOO_LARGE', /conf\/l\d\/f\d\.conf:1: Include/],
    ] as const) {
      const { sr } = await newSandbox(roots);
      await bomb(sr);
      for (const cmd of [
        ['vhost', 'list'],
        ['vhost', 'check'],
      ]) {
        const r = await cliWithin([...cmd, '--server-root', sr, '--json'], 10_000);
        expect(r.killed, `${cmd.join(' ')} on ${bomb.name}: still reading after 10 s`).toBe(false);
        expect(r.ms).toBeLessThan(5000);
        expect(r.code, r.stdout).toBe(1);
        expect(r.json.error.code, `${cmd.join(' ')} on ${bomb.name}`).toBe(code);
        expect(r.json.error.message).toMatch(at);
      }
    }
  });

  it('ctl stop on a server whose config became a fan-out bomb after it started: exit 0 within 5 s, nothing left (3 variants)', async () => {
    // The third variant has no record of the start (started by an older apxs-ts, or by apachectl): the defaults and the process scan.
    for (const [bomb, forget] of [
      [fanOut, false],
      [layered, false],
      [layered, true],
    ] as const) {
      const { sr, port } = await newSandbox(roots);
      const start = await cliWithin(['ctl', 'start', '--server-root', sr, '--json'], 30_000);
      expect(start.code, start.stdout).toBe(0);
      await bomb(sr);
      if (forget) await fs.rm(path.join(sr, '.apxs-ts', 'ctl-run.json'));
      const stop = await cliWithin(['ctl', 'stop', '--server-root', sr, '--json'], 10_000);
      expect(stop.ms).toBeLessThan(5000);
      expect(stop.code, stop.stdout).toBe(0);
      expect(stop.json.pid).toBe(start.json.pid);
      expect(await processesOf('/usr/sbin/apache2', sr)).toEqual([]);
      expect(await canBind(port)).toBe(true);
    }
  });
});

/**
 * Issue #19's start-up: what a no-op `build` and `ctl status` of a healthy server load. They
 * load no node:crypto (the modules on their path that hash, take a lock or start a server require
 * it where they use it); `ctl start` does, which shows that the probe sees a load.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, newSandbox, ROOT } from '../helpers.js';

const BUNDLE = path.join(ROOT, 'dist', 'apxs-ts.cjs');

/** Runs the bundle in `cwd` with `args`; says which of Node's built-ins the run loaded. */
const probe = `require(${JSON.stringify(BUNDLE)}).main(['node', 'apxs-ts', ...process.argv.slice(1)])
  .then((code) => {
    process.exitCode = code;
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule '));
    process.stderr.write('\\n' + JSON.stringify({ builtins: builtins.map((m) => m.slice(13)) }));
  });`;

function run(cwd: string, args: string[]) {
  return new Promise<{ code: number; stdout: string; builtins: string[] }>((resolve) =>
    execFile(
      process.execPath,
      ['-e', probe, '--', ...args],
      { cwd, env: { ...process.env, CI: 'true' }, timeout: 60_000 },
      (e, stdout, stderr) =>
        resolve({
          code: e ? (e.code as number) : 0,
          stdout,
          ...JSON.parse(stderr.slice(stderr.lastIndexOf('\n{'))),
        }),
    ),
  );
}

describe('start-up of a no-op build and ctl status: no node:crypto', () => {
  const dirs: string[] = [];
  let sr = '';
  afterAll(async () => {
    if (sr) await cli(['ctl', 'stop', '--server-root', sr]);
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  it('a no-op build loads no node:crypto', async () => {
    const s = await newSandbox();
    dirs.push(s.work);
    expect((await cli(['new', 'hello', '--template', 'hello', '--dir', s.work])).code).toBe(0);
    const mod = path.join(s.work, 'mod_hello');
    // The first build compiles; the second finds the module up to date.
    expect((await run(mod, ['build', '--server-root', s.sr])).code).toBe(0);
    const noop = await run(mod, ['build', '--json', '--server-root', s.sr]);
    expect(noop.code).toBe(0);
    expect(JSON.parse(noop.stdout)).toMatchObject({ ok: true, upToDate: true, changed: false });
    expect(noop.builtins).toContain('fs/promises'); // the probe lists what the run loaded
    expect(noop.builtins).not.toContain('crypto');
  });

  it('ctl status of a running, healthy server loads no node:crypto; ctl start does', async () => {
    const s = await newSandbox();
    dirs.push(s.work);
    const start = await run(s.work, ['ctl', 'start', '--server-root', s.sr]);
    expect(start.code).toBe(0);
    sr = s.sr;
    // The start's crash capture makes a random token: node:crypto, required where it is used.
    expect(start.builtins).toContain('crypto');
    const status = await run(s.work, ['ctl', 'status', '--json', '--server-root', s.sr]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, running: true, healthy: true });
    expect(status.builtins).toContain('http');
    expect(status.builtins).not.toContain('crypto');
  });
});

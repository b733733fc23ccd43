/**
 * Crash capture (issue #21) and a small, full disk: the crash directory on a
 * 256 KiB tmpfs. A core bigger than the room left is cut short or not
 * written, so five crashes in a row each still leave their frames, each is
 * listed with the handler's file:line (from the frames when gdb finds nothing
 * in a cut core), the disk keeps room, and httpd keeps serving. With the
 * crash directory's disk already full, `ctl start` still starts the server,
 * saying that crash capture is off.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs, statfsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];
const running: string[] = [];
afterAll(async () => {
  for (const root of running) await cli(['ctl', 'stop', '--server-root', root]);
  for (const m of mounts) {
    try {
      execFileSync('umount', [m]);
    } catch {
      /* already gone */
    }
  }
});

function canMount(): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', '/mnt'], { stdio: 'ignore' });
    execFileSync('umount', ['/mnt']);
    return true;
  } catch {
    return false;
  }
}
const mountable = isRoot && canMount();
if (!mountable) console.log('cannot mount a tmpfs here: the disk-full tests are skipped');

/** A started sandbox whose module dereferences NULL on /crash, its crash directory a tmpfs of `size`. */
async function crashyOnTmpfs(
  size: string,
  fill = false,
): Promise<{ sr: string; port: number; line: number; crashes: string; start: any }> {
  const { work, sr, port } = await newSandbox();
  expect(
    (await cli(['new', 'crashy', '--template', 'hello', '--server-root', sr], { cwd: work })).code,
  ).toBe(0);
  const src = path.join(work, 'mod_crashy', 'mod_crashy.c');
  const text = await fs.readFile(src, 'utf8');
  const m = /^( *)ap_set_content_type\(r, "text\/plain"\);$/m.exec(text)!;
  await fs.writeFile(
    src,
    `#include <string.h>\n${text.slice(0, m.index)}${m[1]}if (strcmp(r->uri, "/crash") == 0) {\n${m[1]}    volatile int *volatile p = NULL;\n${m[1]}    *p = 42;\n${m[1]}}\n${text.slice(m.index)}`,
  );
  const line =
    (await fs.readFile(src, 'utf8')).split('\n').findIndex((l) => l.trim() === '*p = 42;') + 1;
  expect((await cli(['install', '--server-root', sr], { cwd: path.dirname(src) })).code).toBe(0);
  const crashes = path.join(sr, '.apxs-ts', 'crashes');
  await fs.mkdir(crashes, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', crashes]);
  mounts.push(crashes);
  if (fill) {
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${crashes}/fill`, 'bs=4k'], { stdio: 'ignore' });
    } catch {
      /* ENOSPC: full, as wanted */
    }
  }
  running.push(sr);
  const start = await cli(['ctl', 'start', '--server-root', sr, '--json'], { timeoutMs: 90_000 });
  return { sr, port, line, crashes, start };
}

describe.skipIf(!mountable)('crash capture on a small, full disk', () => {
  it("5 crashes in a row on a 256 KiB crash disk: each listed with the handler's line, room kept, httpd serving", async () => {
    const N = 5;
    const { sr, port, line, crashes, start } = await crashyOnTmpfs('256k');
    expect(start.code, start.stdout + start.stderr).toBe(0);
    for (let i = 0; i < N; i++) await get(`http://127.0.0.1:${port}/crash`).catch(() => undefined);
    let r: any;
    for (let i = 0; i < 100; i++) {
      r = (await cli(['ctl', 'crashes', '--server-root', sr, '--json'], { timeoutMs: 120_000 }))
        .json;
      if (r?.crashes?.filter((c: any) => c.logLine).length >= N) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    const summary = r.crashes
      .map(
        (c: any) =>
          `${c.pid}: ${c.top?.fn}:${c.top?.line} by ${c.symbolizedBy} core=${c.core ?? '-'} ${c.note ?? ''}`,
      )
      .join('\n');
    expect(r.crashes, summary).toHaveLength(N);
    for (const c of r.crashes) expect(c.top, summary).toMatchObject({ fn: 'crashy_handler', line });
    const fsStat = statfsSync(crashes);
    expect(fsStat.bavail, summary).toBeGreaterThan(0);
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
  }, 300_000);

  it("the crash directory's disk already full: ctl start still starts the server and says crash capture is off", async () => {
    const { port, start } = await crashyOnTmpfs('64k', true);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(JSON.stringify(start.json.warnings)).toMatch(
      /crash capture is off for this start: .*no space left/,
    );
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
  }, 300_000);
});

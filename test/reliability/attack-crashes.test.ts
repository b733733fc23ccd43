/**
 * Attacks on issue #21's crash capture (lib/ctl/crash-capture.ts,
 * lib/ctl/crashes.ts) that its own tests did not name. The crash directory
 * is 1733 (httpd's children, another user, make their `<pid>/` in it), so
 * any local user can put entries there too: as `nobody`, forged crash
 * directories (a symbolization cache, frames, a core for gdb, a sanitizer
 * report, a symlink) and a directory made ahead of a real child's crash.
 * None may be listed, counted or handed to gdb; the real crash still is.
 * Then: an error log with terminal control sequences in an "exit signal"
 * line (a module can log any text), an error log swapped for a FIFO, and
 * the recorder's cached .so in a cache directory another user controls.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox, tmpDir } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const running: string[] = [];
afterAll(async () => {
  for (const root of running) await cli(['ctl', 'stop', '--server-root', root]);
});

/** The handler dereferences NULL on /crash (as test/e2e/crash-series.test.ts does; importing it would run its tests). */
async function makeCrashy(src: string): Promise<number> {
  const text = await fs.readFile(src, 'utf8');
  const m = /^( *)ap_set_content_type\(r, "text\/plain"\);$/m.exec(text);
  if (!m) throw new Error(`no content-type line in ${src}`);
  const ind = m[1]!;
  const crash = `${ind}if (strcmp(r->uri, "/crash") == 0) {\n${ind}    volatile int *volatile p = NULL;\n${ind}    *p = 42;\n${ind}}\n`;
  await fs.writeFile(
    src,
    `#include <string.h>\n${text.slice(0, m.index)}${crash}${text.slice(m.index)}`,
  );
  return (await fs.readFile(src, 'utf8')).split('\n').findIndex((l) => l.trim() === '*p = 42;') + 1;
}

const asNobody = (cmd: string) =>
  execFileSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'sh', '-c', cmd]);
const ESC = /[\x00-\x08\x0b-\x1f\x7f]/;

/** A sandbox with a module that dereferences NULL on /crash, started by apxs-ts (crash capture on). */
async function crashyServer(
  env: Record<string, string> = {},
): Promise<{ sr: string; port: number; line: number; crashes: string }> {
  const { work, sr, port } = await newSandbox();
  expect(
    (await cli(['new', 'crashy', '--template', 'hello', '--server-root', sr], { cwd: work })).code,
  ).toBe(0);
  const dir = path.join(work, 'mod_crashy');
  const line = await makeCrashy(path.join(dir, 'mod_crashy.c'));
  const inst = await cli(['install', '--server-root', sr], { cwd: dir });
  expect(inst.code, inst.stderr).toBe(0);
  running.push(sr);
  const st = await cli(['ctl', 'start', '--server-root', sr, '--json'], { timeoutMs: 90_000, env });
  expect(st.code, st.stdout + st.stderr).toBe(0);
  return { sr, port, line, crashes: path.join(sr, '.apxs-ts', 'crashes') };
}

async function crashes(sr: string, want: number): Promise<any> {
  let last: any;
  for (let i = 0; i < 100; i++) {
    last = (await cli(['ctl', 'crashes', '--server-root', sr, '--json'], { timeoutMs: 120_000 }))
      .json;
    if (last?.crashes?.filter((c: any) => c.logLine).length >= want) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

describe.skipIf(!isRoot)('crash capture: attacks its tests did not name', () => {
  it('entries nobody plants in the crash directory are neither listed, counted nor handed to gdb; the real crash is', async () => {
    const { sr, port, line, crashes: dir } = await crashyServer();
    const status = (await cli(['ctl', 'status', '--server-root', sr, '--json'])).json;
    const children = execFileSync('pgrep', ['-P', String(status.pid)])
      .toString()
      .trim()
      .split('\n')
      .map(Number);
    expect(children.length).toBeGreaterThan(0);
    // 1. a symbolization cache; 2. frames (no token) with a core for gdb; 3. a sanitizer report and its dir;
    // 4. a symlink to nobody's own directory; 5. every live child's directory made ahead of its crash, 0777, with a core in it.
    const elsewhere = await tmpDir('apxs-ts-attack-crash-elsewhere-');
    await fs.chown(elsewhere, NOBODY, NOBODY);
    asNobody(
      [
        `mkdir ${dir}/4242 && printf '{"frames":[{"pc":"0x1","fn":"forged_fn","file":"/forged.c","line":1}],"symbolizedBy":"gdb","note":"forged"}' > ${dir}/4242/backtrace.json`,
        `mkdir ${dir}/4243 && printf 'signal 11\\nframe 0x1 0x0 forged_fn /bin/true\\n' > ${dir}/4243/frames && cp /bin/true ${dir}/4243/core`,
        `mkdir ${dir}/4244 && printf '==4244==ERROR: AddressSanitizer: forged_report\\n    #0 0x1 in forged_fn /forged.c:1\\n' > ${dir}/asan.4244`,
        `mkdir ${elsewhere}/x && printf 'signal 11\\nframe 0x1 0x0 forged_fn /bin/true\\n' > ${elsewhere}/x/frames && ln -s ${elsewhere}/x ${dir}/4245`,
        ...children.map(
          (c) =>
            `mkdir -m 777 ${dir}/${c} && cp /bin/true ${dir}/${c}/core && chmod 777 ${dir}/${c}`,
        ),
      ].join(' && '),
    );
    const answer = await get(`http://127.0.0.1:${port}/crash`).then(
      (r) => `status ${r.status}`,
      (e: Error) => e.message,
    );
    expect(answer).not.toMatch(/^status /);
    const r = await crashes(sr, 1);
    const text = JSON.stringify(r);
    const outcome = `listed pids ${r.crashes.map((c: any) => c.pid).join(',')}; count ${r.count}`;
    expect(text, outcome).not.toContain('forged');
    expect(r.count, outcome).toBe(1);
    expect(r.crashes).toHaveLength(1);
    const real = r.crashes[0];
    expect(children).toContain(real.pid);
    expect(real.logLine).toMatch(/exit signal Segmentation fault \(11\)/);
    // Its directory was nobody's: its frames and core are not believed (the core there is nobody's /bin/true).
    expect(real.core, JSON.stringify(real)).toBeUndefined();
    expect(real.note).toMatch(/not apxs-ts's|not trusted/);
    const st = (await cli(['ctl', 'status', '--server-root', sr, '--json'])).json;
    expect(st.crashes.count).toBe(1);
    expect(JSON.stringify(st)).not.toContain('forged');
    void line;
  }, 180_000);

  it('a real crash in a directory of its own is still listed with its handler and line (control)', async () => {
    const { sr, port, line } = await crashyServer();
    await get(`http://127.0.0.1:${port}/crash`).catch(() => undefined);
    const r = await crashes(sr, 1);
    expect(r.count).toBe(1);
    expect(r.crashes[0].top, JSON.stringify(r)).toMatchObject({ fn: 'crashy_handler', line });
  }, 180_000);

  it('control characters in an "exit signal" line are escaped in the human output of ctl crashes and ctl status', async () => {
    const { sr } = await crashyServer();
    const log = path.join(sr, 'logs', 'error_log');
    // A module may log any text: this line has the parent's form with an OSC title and a colour in it.
    await fs.appendFile(
      log,
      '[Thu Dec 03 10:00:00 2026] [core:notice] [pid 1] AH00052: child pid 31337 exit signal Seg\x1b]0;pwned\x07\x1b[31mfault (11)\n',
    );
    await fs.mkdir(path.join(sr, '.apxs-ts', 'crashes', '1'), { recursive: true }); // makes status read the log
    const human = await cli(['ctl', 'crashes', '--server-root', sr]);
    expect(human.stdout).toContain('31337');
    expect(human.stdout).not.toMatch(ESC);
    expect(human.stdout).toContain('\\x1b');
    const status = await cli(['ctl', 'status', '--server-root', sr]);
    expect(status.stdout).toContain('crashes since start');
    expect(status.stdout.replace(/\n/g, '')).not.toMatch(ESC);
  }, 180_000);

  it('an error log swapped for a FIFO, then for a symlink to /dev/zero: ctl crashes answers (no read blocks on it or runs on)', async () => {
    const { sr } = await crashyServer();
    const log = path.join(sr, 'logs', 'error_log');
    await fs.rm(log);
    execFileSync('mkfifo', [log]);
    const r = await cli(['ctl', 'crashes', '--server-root', sr, '--json'], { timeoutMs: 20_000 });
    expect(r.code, `exit ${r.code} ${r.stderr}`).toBe(0);
    expect(r.json.count).toBe(0);
    await fs.rm(log);
    await fs.symlink('/dev/zero', log);
    const z = await cli(['ctl', 'crashes', '--server-root', sr, '--json'], { timeoutMs: 20_000 });
    expect(z.code, `exit ${z.code} ${z.stderr}`).toBe(0);
    expect(z.json.count).toBe(0);
  }, 180_000);

  it('100 MB of log lines after the start (1000 of them exit-signal lines at the end): ctl crashes reads a bounded tail and answers', async () => {
    const { sr } = await crashyServer();
    const log = path.join(sr, 'logs', 'error_log');
    const junk = `[Thu Dec 03 10:00:00 2026] [core:error] [pid 1] AH00000: ${'x'.repeat(200)}\n`;
    const block = junk.repeat(Math.ceil((1024 * 1024) / junk.length));
    for (let i = 0; i < 100; i++) await fs.appendFile(log, block);
    const tail: string[] = [];
    for (let i = 0; i < 1000; i++)
      tail.push(
        `[Thu Dec 03 10:00:00 2026] [core:notice] [pid 1] AH00052: child pid ${300000 + i} exit signal Segmentation fault (11)`,
      );
    await fs.appendFile(log, `${tail.join('\n')}\n`);
    expect((await fs.stat(log)).size).toBeGreaterThan(100 * 1024 * 1024);
    const r = await cli(['ctl', 'crashes', '--server-root', sr, '--json', '-n', '1'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.count).toBe(1000);
    expect(r.json.crashes[0].pid).toBe(300999);
    await fs.truncate(log, 0);
  }, 300_000);

  it('the recorder .so in a cache directory nobody controls is never preloaded into httpd', async () => {
    const cache = await tmpDir('apxs-ts-attack-crash-cache-');
    const mark = path.join(cache, 'MARK');
    // First start builds the recorder into the cache (root's then); stop.
    const { sr } = await crashyServer({ XDG_CACHE_HOME: cache });
    expect((await cli(['ctl', 'stop', '--server-root', sr])).code).toBe(0);
    const built = (await fs.readdir(path.join(cache, 'apxs-ts', 'crash'))).filter((n) =>
      n.endsWith('.so'),
    );
    expect(built).toHaveLength(1);
    // nobody gets the cache, and swaps the recorder for a library whose constructor touches MARK.
    const evil = path.join(cache, 'evil.c');
    await fs.writeFile(
      evil,
      `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void f(void) { close(open("${mark}", O_CREAT | O_WRONLY, 0644)); }\n`,
    );
    execFileSync('gcc', ['-shared', '-fPIC', '-o', path.join(cache, 'evil.so'), evil]);
    execFileSync('chown', ['-R', 'nobody:nogroup', cache]);
    asNobody(
      `cp ${cache}/evil.so ${cache}/apxs-ts/crash/${built[0]}.new && mv ${cache}/apxs-ts/crash/${built[0]}.new ${cache}/apxs-ts/crash/${built[0]}`,
    );
    await fs.rm(mark, { force: true });
    const st = await cli(['ctl', 'start', '--server-root', sr, '--json'], {
      timeoutMs: 90_000,
      env: { XDG_CACHE_HOME: cache },
    });
    expect(st.code, st.stdout + st.stderr).toBe(0);
    const ran = await fs.stat(mark).then(
      () => true,
      () => false,
    );
    expect(ran, JSON.stringify(st.json)).toBe(false);
    expect(JSON.stringify(st.json)).toMatch(/recorder/);
  }, 180_000);

  it('1000 crashes since the start: ctl crashes prints and symbolizes only the last 20 by default, counts all 1001; -n and --json agree', async () => {
    const N = 1000;
    const { sr, port, line, crashes: dir } = await crashyServer();
    await get(`http://127.0.0.1:${port}/crash`).catch(() => undefined);
    const first = await crashes(sr, 1);
    expect(first.count).toBe(1);
    const real = first.crashes[0];
    // As the recorder would leave them (its frames, this start's token, the child's uid), and the parent's log lines.
    const realDir = path.join(dir, String(real.pid));
    const frames = await fs.readFile(path.join(realDir, 'frames'), 'utf8');
    const { uid, gid } = await fs.stat(realDir);
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      const pid = 200000 + i;
      await fs.mkdir(path.join(dir, String(pid)), { mode: 0o700 });
      await fs.writeFile(path.join(dir, String(pid), 'frames'), frames, { mode: 0o600 });
      await fs.chown(path.join(dir, String(pid), 'frames'), uid, gid);
      await fs.chown(path.join(dir, String(pid)), uid, gid);
      lines.push(
        `[Thu Dec 03 10:00:00 2026] [core:notice] [pid 1] AH00052: child pid ${pid} exit signal Segmentation fault (11)`,
      );
    }
    await fs.appendFile(path.join(sr, 'logs', 'error_log'), `${lines.join('\n')}\n`);
    const human = await cli(['ctl', 'crashes', '--server-root', sr], { timeoutMs: 600_000 });
    expect(human.code, human.stderr).toBe(0);
    const heads = human.stdout.split('\n').filter((l) => l.startsWith('child pid '));
    expect(heads).toHaveLength(20);
    expect(human.stdout).toContain(`${N + 1} crashes`);
    expect(human.stdout).toMatch(/-n N/);
    // Only what was shown was symbolized (each symbolized crash keeps a backtrace.json).
    let cached = 0;
    for (const n of await fs.readdir(dir))
      if (
        await fs.stat(path.join(dir, n, 'backtrace.json')).then(
          () => true,
          () => false,
        )
      )
        cached++;
    expect(cached).toBeLessThanOrEqual(21);
    const json = (
      await cli(['ctl', 'crashes', '--server-root', sr, '--json', '-n', '5'], {
        timeoutMs: 600_000,
      })
    ).json;
    expect(json.count).toBe(N + 1);
    expect(json.crashes).toHaveLength(5);
    expect(json.crashes[4].pid).toBe(200000 + N - 1);
    expect(json.crashes[4].top).toMatchObject({ fn: 'crashy_handler', line });
  }, 900_000);

  it('a cache path with a space and a colon (which LD_PRELOAD cannot hold): the start says the recorder is not preloaded, rather than recording a run with a recorder the loader skipped', async () => {
    const cache = path.join(await tmpDir('apxs-ts-attack-crash-space-'), 'a b:c');
    await fs.mkdir(cache, { mode: 0o755 });
    const { sr } = await crashyServer({ XDG_CACHE_HOME: cache });
    const st = (await cli(['ctl', 'status', '--server-root', sr, '--json'])).json;
    expect(await fs.readFile(`/proc/${st.pid}/maps`, 'utf8')).not.toContain('apxs-ts-crash');
    expect((await cli(['ctl', 'stop', '--server-root', sr])).code).toBe(0);
    const again = await cli(['ctl', 'start', '--server-root', sr, '--json'], {
      timeoutMs: 90_000,
      env: { XDG_CACHE_HOME: cache },
    });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.stringify(again.json.warnings)).toMatch(
      /recorder was not preloaded: .*space or a colon/,
    );
  }, 180_000);
});

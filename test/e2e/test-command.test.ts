/**
 * `apxs-ts test` on the system httpd (2.4): the scaffolds' case files pass;
 * a wrong body fails with exit 1 and a diff; an unexpected [error] fails
 * its case; a child that segfaults fails that case naming the signal while
 * the next cases still run; a line written 300 ms after the response is
 * caught; --repeat, --graceful-between and --order; JUnit XML parsed by
 * python3 with the right counts; a bad case file is exit 2 with file:line;
 * nothing is left behind (no httpd, no temp root), also after Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, cli, tmpDir } from '../helpers.js';

/** A 2.x module with a path for every way a module goes wrong. */
const FAULTS_C = String.raw`
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include "http_core.h"
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_time.h"
#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(faults);
#endif

static volatile unsigned long counted;

static int faults_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "faults") != 0)
        return DECLINED;
    ap_set_content_type(r, "text/plain");
    if (strcmp(r->uri, "/faults/ok") == 0) {
        ap_rputs("fine\n", r);
    } else if (strcmp(r->uri, "/faults/error") == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "faults: something broke");
        ap_rputs("logged an error\n", r);
    } else if (strcmp(r->uri, "/faults/crash") == 0) {
        raise(SIGSEGV);
    } else if (strcmp(r->uri, "/faults/late") == 0) {
        /* The whole response first (its length is known, so the client is done), the log line 300 ms later. */
        ap_set_content_length(r, 5);
        ap_rputs("late\n", r);
        ap_rflush(r);
        apr_sleep(apr_time_from_msec(300));
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "faults: the late line");
    } else if (strcmp(r->uri, "/faults/count") == 0) {
        /* State a process keeps: a graceful restart starts from 1 again. */
        ap_rprintf(r, "%lu\n", __sync_add_and_fetch(&counted, 1));
    } else if (strcmp(r->uri, "/faults/slow") == 0) {
        apr_sleep(apr_time_from_sec(3));
        ap_rputs("slow\n", r);
    } else {
        return HTTP_NOT_FOUND;
    }
    return OK;
}

/* With FAULTS_FAIL_RESTART set, a restart's new generation refuses to configure: the server exits. */
static int faults_post_config(apr_pool_t *p, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int gen = 0;
    (void)p; (void)plog; (void)ptemp;
    gen = ap_state_query(AP_SQ_CONFIG_GEN);
    if (getenv("FAULTS_FAIL_RESTART") && gen >= 2) {  /* start-up configures twice (0, 1) */
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "faults: refusing generation %d", gen);
        return DONE;
    }
    return OK;
}

static void faults_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(faults_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(faults_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA faults_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, faults_register_hooks
};
`;

let work: string;
let faults: string;
/**
 * A cache dir of this file's own: the shared ~/.cache/apxs-ts is written by
 * other checkouts' CLIs too, whose cache formats need not be this one's.
 */
let cacheEnv: Record<string, string>;

async function writeCases(dir: string, name: string, yaml: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'tests'), { recursive: true });
  const f = path.join(dir, 'tests', name);
  await fs.writeFile(f, yaml);
  return f;
}

/** Temp roots this run's CLI left in `tmp` (TMPDIR): none, after every run. */
const rootsIn = async (tmp: string) =>
  (await fs.readdir(tmp)).filter((n) => n.startsWith('apxs-ts-testroot-'));

/** httpd processes whose command line names `dir`. */
function httpdsUnder(dir: string): number[] {
  const out: number[] = [];
  for (const pid of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(pid);
    if (m && m[2]!.includes(dir) && /httpd|apache2/.test(m[2]!)) out.push(Number(m[1]));
  }
  return out;
}

/**
 * Roots in `tmp` whose server runs: the pid file httpd writes once it has detached names a live
 * process started from that root. Not a count of processes under `tmp`: one server's start shows
 * two for a moment (the `sh` wrapper or `apache2 -k start` and the daemon it forks), which made
 * "both servers run" true for one server while the other was still being made.
 */
async function servingRoots(tmp: string): Promise<string[]> {
  const out: string[] = [];
  for (const r of await rootsIn(tmp)) {
    const pidFile = path.join(tmp, r, 'root', 'logs', 'httpd.pid');
    const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(path.join(tmp, r))) out.push(r);
  }
  return out;
}

/** The CLI with TMPDIR set to a private dir, so its throwaway roots can be counted. */
async function runTest(args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  const tmp = await tmpDir('apxs-ts-t20tmp-');
  const r = await cli(['test', ...args], {
    cwd,
    env: { TMPDIR: tmp, ...cacheEnv, ...extraEnv },
    timeoutMs: 180_000,
  });
  return { ...r, tmp, left: await rootsIn(tmp), httpds: httpdsUnder(tmp) };
}

beforeAll(async () => {
  work = await tmpDir('apxs-ts-t20-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  faults = path.join(work, 'mod_faults');
  await fs.mkdir(faults, { mode: 0o755 });
  await fs.writeFile(path.join(faults, 'mod_faults.c'), FAULTS_C);
  await fs.writeFile(
    path.join(faults, 'apxs-ts-module.json'),
    JSON.stringify({ name: 'faults', handler: 'faults', url: '/faults' }),
  );
  const b = await cli(['build', faults], { env: cacheEnv });
  expect(b.code, b.stderr).toBe(0);
}, 120_000);

describe("the scaffolds' case files", () => {
  it.each([
    ['hello', 'c'],
    ['handler', 'c'],
    ['info', 'c'],
    ['info', 'cpp'],
  ])(
    '%s (%s) passes on a fresh scaffold, leaving nothing behind',
    async (template, lang) => {
      const name = `t${template}${lang}`;
      const n = await cli(
        ['new', name, '--template', template, ...(lang === 'cpp' ? ['--cpp'] : []), '--dir', work],
        { env: cacheEnv },
      );
      expect(n.code, n.stderr).toBe(0);
      const r = await runTest(['--json'], path.join(work, `mod_${name}`));
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.json.failed).toBe(0);
      expect(r.json.passed).toBe(template === 'handler' ? 2 : 3);
      expect(r.json.cases.every((c: { ok: boolean }) => c.ok)).toBe(true);
      expect(r.left).toEqual([]);
      expect(r.httpds).toEqual([]);
    },
    120_000,
  );
});

describe('the blog-era modules of fixtures/blog-modules', () => {
  it.each([
    ['mod_helloworld', 2],
    ['mod_declining', 2],
    ['mod_reqinfo', 3],
  ])(
    '%s: its case file passes (%i cases)',
    async (m, n) => {
      const dir = path.join(work, 'blog', m);
      await fs.cp(path.join(ROOT, 'fixtures', 'blog-modules', m), dir, { recursive: true });
      const r = await runTest(['--json'], dir);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect([r.json.total, r.json.passed]).toEqual([n, n]);
      expect(r.left).toEqual([]);
    },
    120_000,
  );
});

describe('failures', () => {
  it('a wrong expected body fails with exit 1 and a line diff', async () => {
    const f = await writeCases(
      faults,
      'wrong-body.yaml',
      [
        'cases:',
        '  - name: body as expected',
        '    request: /faults/ok',
        '    expect: { status: 200, body: "fine\\n" }',
        '  - name: body not as expected',
        '    request: /faults/ok',
        '    expect: { status: 200, body: "fine, thanks\\n" }',
      ].join('\n'),
    );
    const r = await runTest(['--file', f], faults);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('1 of 2 case runs failed');
    expect(r.stderr).toContain('FAIL tests/wrong-body.yaml › body not as expected');
    expect(r.stderr).not.toContain('FAIL tests/wrong-body.yaml › body as expected');
    expect(r.stderr).toMatch(/diff \(- expected, \+ actual\):\n\s+- fine, thanks\n\s+\+ fine\n/);
    expect(r.left).toEqual([]);
  }, 60_000);

  it('an [error] line a case does not expect fails it; the case that expects it passes', async () => {
    const f = await writeCases(
      faults,
      'error-line.yaml',
      [
        'cases:',
        '  - name: error unexpected',
        '    request: /faults/error',
        '    expect: { status: 200 }',
        '  - name: error expected',
        '    request: /faults/error',
        '    expect: { status: 200, errorLog: [something broke] }',
      ].join('\n'),
    );
    const r = await runTest(['--file', f, '--json'], faults);
    expect(r.code).toBe(1);
    const byName = Object.fromEntries(r.json.cases.map((c: any) => [c.name, c]));
    expect(byName['error unexpected'].ok).toBe(false);
    expect(byName['error unexpected'].failures).toEqual([
      expect.objectContaining({
        what: 'unexpected log line',
        actual: expect.stringMatching(/\[faults:error\].*faults: something broke/),
      }),
    ]);
    expect(byName['error expected'].ok).toBe(true);
  }, 60_000);

  it('a child that segfaults fails that case naming the signal; the cases after it still run and pass', async () => {
    const f = await writeCases(
      faults,
      'crash.yaml',
      [
        'cases:',
        '  - name: before',
        '    request: /faults/ok',
        '    expect: { body: "fine\\n" }',
        '  - name: crash',
        '    request: /faults/crash',
        '    expect: { status: 200, waitMs: 5000 }',
        '  - name: after',
        '    request: /faults/ok',
        '    expect: { body: "fine\\n" }',
        '  - name: after again',
        '    request: /faults/ok',
        '    expect: { body: "fine\\n" }',
      ].join('\n'),
    );
    const r = await runTest(['--file', f, '--json'], faults);
    expect(r.code).toBe(1);
    expect(r.json.cases.map((c: any) => [c.name, c.ok])).toEqual([
      ['before', true],
      ['crash', false],
      ['after', true],
      ['after again', true],
    ]);
    const crash = r.json.cases[1];
    expect(crash.failures.map((x: any) => x.what)).toEqual(
      expect.arrayContaining(['no response', 'child signal']),
    );
    expect(crash.failures.find((x: any) => x.what === 'child signal').actual).toMatch(
      /a child died of Segmentation fault \(11\): .*AH0005[12]: child pid \d+ exit signal Segmentation fault/,
    );
    expect(r.left).toEqual([]);
    expect(r.httpds).toEqual([]);
  }, 60_000);

  it('a line written 300 ms after the response is caught (and missed with waitMs: 0)', async () => {
    const f = await writeCases(
      faults,
      'late.yaml',
      [
        'cases:',
        '  - name: late line waited for',
        '    request: /faults/late',
        '    expect: { body: "late\\n", errorLog: [the late line] }',
        '  - name: late line not waited for',
        '    request: /faults/late',
        '    expect: { body: "late\\n", errorLog: [the late line], waitMs: 0 }',
      ].join('\n'),
    );
    const r = await runTest(['--file', f, '--json'], faults);
    expect(r.json.cases.map((c: any) => [c.name, c.ok])).toEqual([
      ['late line waited for', true],
      ['late line not waited for', false],
    ]);
    expect(r.json.cases[1].failures.map((x: any) => x.what)).toEqual(['errorLog']);
  }, 60_000);

  it("a server that does not start fails every case with httpd's own words", async () => {
    const f = await writeCases(
      faults,
      'no-start.yaml',
      [
        'config: "NoSuchDirectiveHere on"',
        'cases:',
        '  - name: one',
        '    request: /faults/ok',
        '    expect: { status: 200 }',
        '  - name: two',
        '    request: /faults/ok',
        '    expect: { status: 200 }',
      ].join('\n'),
    );
    const r = await runTest(['--file', f, '--json'], faults);
    expect(r.code).toBe(1);
    expect(r.json.cases.map((c: any) => [c.name, c.ok, c.failures[0].what])).toEqual([
      ['one', false, 'server'],
      ['two', false, 'server'],
    ]);
    expect(r.json.cases[0].failures[0].actual).toMatch(/Invalid command 'NoSuchDirectiveHere'/);
    expect(r.left).toEqual([]);
    expect(r.httpds).toEqual([]);
  }, 60_000);

  it('a bad case file is exit 2 naming file:line, and nothing runs', async () => {
    const f = await writeCases(
      faults,
      'bad.yaml',
      ['cases:', '  - name: a', '    request: /faults/ok', '    expect:', '      stauts: 200'].join(
        '\n',
      ),
    );
    const r = await runTest(['--file', f], faults);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tests\/bad\.yaml:5: unknown key "stauts"/);
    expect(r.left).toEqual([]);
  }, 60_000);
});

describe('modes', () => {
  const counter = [
    'cases:',
    '  - name: first request of its generation',
    '    request: /faults/count',
    '    expect: { body: "1\\n" }',
  ].join('\n');

  it('--repeat 3 without --graceful-between sees the count grow; with it every run is a new generation', async () => {
    const f = await writeCases(faults, 'count.yaml', counter);
    const plain = await runTest(['--file', f, '--repeat', '3', '--json'], faults);
    expect(plain.code).toBe(1);
    expect(plain.json.cases.map((c: any) => c.response.body)).toEqual(['1\n', '2\n', '3\n']);
    const graceful = await runTest(
      ['--file', f, '--repeat', '3', '--graceful-between', '--json'],
      faults,
    );
    expect(graceful.code, graceful.stderr).toBe(0);
    expect(graceful.json.cases.map((c: any) => c.response.body)).toEqual(['1\n', '1\n', '1\n']);
    expect(graceful.left).toEqual([]);
  }, 120_000);

  it('--graceful-between: a restart that fails (the new generation refuses to configure) fails that case, the rest are not run, exit 1, nothing left', async () => {
    const f = await writeCases(
      faults,
      'restart-fails.yaml',
      [
        'cases:',
        '  - name: first',
        '    request: /faults/ok',
        '    expect: { body: "fine\\n" }',
        '  - name: second',
        '    request: /faults/ok',
        '    expect: { body: "fine\\n" }',
        '  - name: third',
        '    request: /faults/ok',
        '    expect: { body: "fine\\n" }',
      ].join('\n'),
    );
    const r = await runTest(['--file', f, '--graceful-between', '--json'], faults, {
      FAULTS_FAIL_RESTART: '1',
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.cases.map((c: any) => [c.name, c.ok])).toEqual([
      ['first', false],
      ['second', false],
      ['third', false],
    ]);
    expect(r.json.cases[0].failures.map((x: any) => x.what)).toContain(
      'graceful restart after the case',
    );
    expect(r.json.cases[1].failures).toEqual([
      expect.objectContaining({
        what: 'server',
        actual: 'not run: the graceful restart after "first" failed',
      }),
    ]);
    expect(r.left).toEqual([]);
    expect(r.httpds).toEqual([]);
  }, 120_000);

  it('--repeat 20 runs every case 20 times; --grep picks cases; --order random:SEED is the same order twice', async () => {
    const f = await writeCases(
      faults,
      'ok.yaml',
      [
        'cases:',
        ...['a', 'b', 'c'].flatMap((n) => [
          `  - name: ok ${n}`,
          '    request: /faults/ok',
          '    expect: { status: 200, body: "fine\\n" }',
        ]),
      ].join('\n'),
    );
    const r = await runTest(['--file', f, '--repeat', '20', '--json'], faults);
    expect(r.code, r.stderr).toBe(0);
    expect([r.json.total, r.json.passed]).toEqual([60, 60]);
    const g = await runTest(['--file', f, '--grep', 'ok [ab]', '--json'], faults);
    expect(g.json.cases.map((c: any) => c.name)).toEqual(['ok a', 'ok b']);
    const none = await runTest(['--file', f, '--grep', 'nothing like this', '--json'], faults);
    expect([none.code, none.json.error.message]).toEqual([
      2,
      '--grep nothing like this: no case name matches',
    ]);
    const o1 = await runTest(
      ['--file', f, '--repeat', '2', '--order', 'random:42', '--json'],
      faults,
    );
    const o2 = await runTest(
      ['--file', f, '--repeat', '2', '--order', 'random:42', '--json'],
      faults,
    );
    const order = (x: any) => x.json.cases.map((c: any) => `${c.name}#${c.iteration}`);
    expect(order(o1)).toEqual(order(o2));
    expect(order(o1)).not.toEqual(['ok a#1', 'ok a#2', 'ok b#1', 'ok b#2', 'ok c#1', 'ok c#2']);
    expect(o1.json.seed).toBe(42);
  }, 120_000);

  it('--reporter junit prints JUnit XML that python3 parses, with the right counts', async () => {
    const a = await writeCases(
      faults,
      'j1.yaml',
      [
        'cases:',
        '  - name: passes',
        '    request: /faults/ok',
        '    expect: { body: "fine\\n" }',
        '  - name: fails',
        '    request: /faults/ok',
        '    expect: { body: "<nope> & \\"quotes\\"" }',
      ].join('\n'),
    );
    const b = await writeCases(
      faults,
      'j2.yaml',
      [
        'cases:',
        '  - name: passes too',
        '    request: /faults/ok',
        '    expect: { status: 200 }',
      ].join('\n'),
    );
    const r = await runTest(['--file', a, '--file', b, '--reporter', 'junit'], faults);
    expect(r.code).toBe(1);
    const py = [
      'import sys, xml.etree.ElementTree as ET',
      'root = ET.fromstring(sys.stdin.read())',
      'cases = root.findall(".//testcase")',
      'print(root.get("tests"), root.get("failures"), len(root.findall("testsuite")), len(cases), len([c for c in cases if c.find("failure") is not None]))',
    ].join('\n');
    const counts = execFileSync('python3', ['-c', py], {
      input: r.stdout,
      encoding: 'utf8',
    }).trim();
    expect(counts).toBe('3 1 2 3 1');
  }, 60_000);
});

describe('--keep', () => {
  it('keeps the stopped root and says where; without it the root is gone', async () => {
    const f = await writeCases(
      faults,
      'keep.yaml',
      ['cases:', '  - name: ok', '    request: /faults/ok', '    expect: { body: "fine\\n" }'].join(
        '\n',
      ),
    );
    const r = await runTest(['--file', f, '--keep', '--json'], faults);
    expect(r.code, r.stderr).toBe(0);
    expect(r.left).toHaveLength(1);
    expect(r.json.kept).toEqual([path.join(r.tmp, r.left[0]!)]);
    expect(
      await fs.readFile(path.join(r.tmp, r.left[0]!, 'root', 'conf', 'httpd.conf'), 'utf8'),
    ).toContain('LoadModule faults_module');
    expect(r.httpds).toEqual([]);
    await fs.rm(r.tmp, { recursive: true, force: true });
  }, 60_000);
});

describe('Ctrl-C', () => {
  it('SIGINT during a run of two files in parallel leaves no httpd and no temp root, exit 130', {
    timeout: 120_000,
  }, async () => {
    const slow = [
      'cases:',
      '  - name: slow',
      '    request: /faults/slow',
      '    expect: { body: "slow\\n" }',
      // Five slow cases (15 s) per file: under a loaded CI machine the second server may start
      // seconds after the first, and both must run at once before the Ctrl-C.
      ...[2, 3, 4, 5].flatMap((n) => [
        `  - name: slow ${n}`,
        '    request: /faults/slow',
        '    expect: { body: "slow\\n" }',
      ]),
    ].join('\n');
    const a = await writeCases(faults, 'slow1.yaml', slow);
    const b = await writeCases(faults, 'slow2.yaml', slow);
    const tmp = await tmpDir('apxs-ts-t20tmp-');
    // Each job's steps (lib/core/trace.ts): which one a stalled run reached last.
    const traceFile = path.join(work, `trace-${path.basename(tmp)}`);
    const child = spawn(process.execPath, [CLI, 'test', '--file', a, '--file', b, '--jobs', '2'], {
      cwd: faults,
      env: {
        ...process.env,
        TMPDIR: tmp,
        CI: 'true',
        APXS_TS_SYSTEM_ROOT: 'none',
        APXS_TS_TRACE: traceFile,
        ...cacheEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    // Wait until both servers run (each root's pid file names its live httpd), then Ctrl-C.
    const t0 = Date.now();
    while ((await servingRoots(tmp)).length < 2 && Date.now() - t0 < 60_000)
      await new Promise((r) => setTimeout(r, 100));
    const before = (await servingRoots(tmp)).length;
    if (before < 2) {
      // Keep what the machine looked like (the wait for both servers failed under load when it
      // counted httpd processes: see servingRoots).
      const ps = execFileSync('ps', ['-eo', 'pid,ppid,stat,etime,args', '-ww'], {
        encoding: 'utf8',
      });
      const diag = [
        `child exit code: ${child.exitCode}, signal: ${child.signalCode}, ` +
          `waited ${Date.now() - t0} ms`,
        `stderr: ${stderr}`,
        `roots in ${tmp}: ${(await rootsIn(tmp)).join(' ')}`,
        ...ps.split('\n').filter((l) => /apxs-ts|apache2|httpd/.test(l)),
        'trace:',
        await fs.readFile(traceFile, 'utf8').catch(() => '(none)'),
      ].join('\n');
      await fs.writeFile(path.join('/tmp', `apxs-ts-ctrlc-diag-${Date.now()}.txt`), diag);
      child.kill('SIGKILL');
      expect(before, diag).toBeGreaterThanOrEqual(2);
    }
    expect((await rootsIn(tmp)).length).toBe(2);
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted');
    expect(httpdsUnder(tmp)).toEqual([]);
    expect(await rootsIn(tmp)).toEqual([]);
  });
});

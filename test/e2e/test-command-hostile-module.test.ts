/**
 * A module that answers badly (#20 attacks): an endless body, a body
 * dripping one byte every 50 ms, 10 MB of headers, no answer at all. Each
 * case fails within its bound with a message saying which bound, the run
 * ends (exit 1, no hang), the CLI's memory stays bounded (the body is read
 * up to 8 MiB), and nothing is left behind. Before: the endless body was
 * read until memory ran out and the dripping one was never timed out (the
 * 30 s timeout was an idle timeout).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tmpDir } from '../helpers.js';

const HOSTILE_C = String.raw`
#include <string.h>
#include <stdio.h>
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "apr_time.h"
#include "apr_strings.h"

static int hostile_handler(request_rec *r)
{
    static char block[65536];
    int i;
    if (!r->handler || strcmp(r->handler, "hostile") != 0)
        return DECLINED;
    ap_set_content_type(r, "text/plain");
    if (strcmp(r->uri, "/hostile/endless") == 0) {
        memset(block, 'x', sizeof block);
        /* Until the client goes away (or 4 GB). */
        for (i = 0; i < 65536 && !r->connection->aborted; i++)
            if (ap_rwrite(block, sizeof block, r) < 0) break;
    } else if (strcmp(r->uri, "/hostile/drip") == 0) {
        for (i = 0; i < 12000 && !r->connection->aborted; i++) {
            if (ap_rputc('x', r) < 0 || ap_rflush(r) < 0) break;
            apr_sleep(apr_time_from_msec(50));
        }
    } else if (strcmp(r->uri, "/hostile/headers") == 0) {
        char name[32], value[101];
        memset(value, 'v', 100);
        value[100] = 0;
        for (i = 0; i < 100000; i++) {
            snprintf(name, sizeof name, "X-Big-%d", i);
            apr_table_add(r->headers_out, apr_pstrdup(r->pool, name), value);
        }
        ap_rputs("headers\n", r);
    } else if (strcmp(r->uri, "/hostile/silent") == 0) {
        for (i = 0; i < 600 && !r->connection->aborted; i++) apr_sleep(apr_time_from_msec(100));
    } else {
        return HTTP_NOT_FOUND;
    }
    return OK;
}

static void hostile_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(hostile_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA hostile_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, hostile_register_hooks
};
`;

const CASES = `cases:
  - name: endless body
    request: { path: /hostile/endless, timeoutMs: 20000 }
    expect: { status: 200, body: { contains: "never" }, waitMs: 0 }
  - name: dripping body
    request: { path: /hostile/drip, timeoutMs: 2000 }
    expect: { status: 200, waitMs: 0 }
  - name: 10 MB of headers
    request: { path: /hostile/headers, timeoutMs: 20000 }
    expect: { status: 200, waitMs: 0 }
  - name: still answers after all that
    request: /hostile/missing
    expect: { status: 404 }
  # Last: its child sleeps on after the client gave up, so the stop's SIGKILL line (AH00046) is blamed on it.
  - name: never answers
    request: { path: /hostile/silent, timeoutMs: 2000 }
    expect: { status: 200, waitMs: 0 }
`;

let work: string;
let mod: string;
let cacheEnv: Record<string, string>;
beforeAll(async () => {
  work = await tmpDir('apxs-ts-atk20hostile-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  mod = path.join(work, 'mod_hostile');
  await fs.mkdir(path.join(mod, 'tests'), { recursive: true, mode: 0o755 });
  await fs.writeFile(path.join(mod, 'mod_hostile.c'), HOSTILE_C);
  await fs.writeFile(
    path.join(mod, 'apxs-ts-module.json'),
    JSON.stringify({ name: 'hostile', handler: 'hostile', url: '/hostile' }),
  );
  await fs.writeFile(path.join(mod, 'tests', 'hostile.yaml'), CASES);
}, 60_000);
const made: string[] = [];
afterAll(async () => {
  for (const d of [work, ...made]) await fs.rm(d, { recursive: true, force: true });
});

/** The CLI under /usr/bin/time: its exit, output and peak resident memory (KiB). */
function runMeasured(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string; maxRssKb: number }> {
  return new Promise((resolve) => {
    const p = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, CLI, ...args], {
      env: { ...process.env, CI: 'true', ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const killer = setTimeout(() => p.kill('SIGKILL'), 180_000);
    p.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, maxRssKb: Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? 0) });
    });
  });
}

describe.skipIf(!existsSync('/usr/bin/time'))('a module that answers badly', () => {
  it('endless body, dripping body, 10 MB of headers, no answer: 4 of 4 fail within their bounds saying which, the 5th passes, memory bounded, nothing left', async () => {
    const tmp = await tmpDir('apxs-ts-atk20hostiletmp-');
    made.push(tmp);
    const r = await runMeasured(['test', mod, '--json'], { ...cacheEnv, TMPDIR: tmp });
    const out = JSON.parse(r.stdout) as {
      error?: { code: string };
      cases?: { name: string; ok: boolean; failures: { what: string; actual: string }[] }[];
    };
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    expect(out.error?.code).toBe('TESTS_FAILED');
    const failure = (name: string) =>
      out.cases
        ?.find((c) => c.name === name)
        ?.failures.map((f) => `${f.what}: ${f.actual}`)
        .join('\n') ?? '(no such case)';
    expect(failure('endless body')).toMatch(/the body passed 8 MiB: read no further/);
    expect(failure('dripping body')).toMatch(/did not end within 2 s/);
    expect(failure('10 MB of headers')).toMatch(/no response: HPE_HEADER_OVERFLOW/);
    expect(failure('never answers')).toMatch(/no answer within 2 s/);
    expect(
      out.cases?.find((c) => c.name === 'still answers after all that')?.ok,
      failure('still answers after all that'),
    ).toBe(true);
    // Bounded: the body cap (8 MiB) and node's header limit, far below what the module sent (GBs).
    expect(r.maxRssKb, `peak RSS ${r.maxRssKb} KiB`).toBeGreaterThan(0);
    expect(r.maxRssKb, `peak RSS ${r.maxRssKb} KiB`).toBeLessThan(400 * 1024);
    expect((await fs.readdir(tmp)).filter((n) => n.startsWith('apxs-ts-testroot-'))).toEqual([]);
    expect(
      execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(tmp)),
    ).toEqual([]);
  }, 240_000);
});

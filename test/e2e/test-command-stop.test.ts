/**
 * How `apxs-ts test` stops its throwaway servers: gracefully (graceful-stop) on 2.4. An ungraceful
 * stop (SIGTERM) a few ms after the last case's response races httpd's worker that is still
 * closing that connection: 2.4's event MPM then segfaults in the child (close_worker_sockets ->
 * apr_os_sock_get on a recycled pool; a core of it was caught under load), and the last case
 * failed with "a child died of Segmentation fault" for httpd's race, not the module's fault (the
 * flaky two-runs and live-sweep tests; lib/testing/server.ts stopQuietly). The race itself cannot
 * be forced from outside httpd, so this asserts the stop that cannot hit it: a module's
 * child_stopping hook (2.4.49 and later) logs how each child is told to stop, and the parent logs
 * the graceful stop (AH00492), for N files in one run.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';

const STOPS_C = String.raw`
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "mpm_common.h"
#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(stops);
#endif

static int stops_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "stops") != 0)
        return DECLINED;
    ap_set_content_type(r, "text/plain");
    ap_rputs("up\n", r);
    return OK;
}

/* How this child is told to stop: graceful 1 (graceful-stop) or 0 (SIGTERM). Notice: always logged. */
static void stops_child_stopping(apr_pool_t *p, int graceful)
{
    (void)p;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, NULL, "stops: child stopping, graceful %d", graceful);
}

static void stops_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(stops_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(stops_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA stops_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, stops_register_hooks
};
`;

const CASES = [
  'cases:',
  '  - name: answers',
  '    request: /stops',
  '    expect: { status: 200, body: "up\\n" }',
  '  - name: a HEAD last, as the scaffold has it',
  '    request: { method: HEAD, path: /stops }',
  '    expect: { status: 200, body: "" }',
].join('\n');

const FILES = 3;
let work: string;
let mod: string;
let cacheEnv: Record<string, string>;

beforeAll(async () => {
  work = await tmpDir('apxs-ts-tstop-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  mod = path.join(work, 'mod_stops');
  await fs.mkdir(path.join(mod, 'tests'), { recursive: true, mode: 0o755 });
  await fs.writeFile(path.join(mod, 'mod_stops.c'), STOPS_C);
  await fs.writeFile(
    path.join(mod, 'apxs-ts-module.json'),
    JSON.stringify({ name: 'stops', handler: 'stops', url: '/stops' }),
  );
  for (let i = 1; i <= FILES; i++) await fs.writeFile(path.join(mod, 'tests', `s${i}.yaml`), CASES);
}, 60_000);
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('the stop of a test server', () => {
  it(`${FILES} files in one run: every child of every server is stopped gracefully`, async () => {
    const tmp = await tmpDir('apxs-ts-tstoptmp-');
    try {
      const r = await cli(['test', mod, '--jobs', '2', '--keep', '--json'], {
        env: { ...cacheEnv, TMPDIR: tmp },
        timeoutMs: 180_000,
      });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const kept: string[] = r.json.kept;
      expect(kept).toHaveLength(FILES);
      const told: string[] = [];
      for (const dir of kept) {
        const log = await fs.readFile(path.join(dir, 'root', 'logs', 'error_log'), 'utf8');
        const stopping = log.split('\n').filter((l) => l.includes('stops: child stopping'));
        // One child (StartServers 1, no load to make more), told once.
        expect(stopping.length, log).toBeGreaterThan(0);
        told.push(...stopping.map((l) => l.replace(/^.*(graceful \d).*$/, '$1')));
        expect(log, log).toMatch(/AH00492: caught SIGWINCH, shutting down gracefully/);
        expect(log).not.toMatch(/AH00491: caught SIGTERM/);
      }
      expect(new Set(told)).toEqual(new Set(['graceful 1']));
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }, 240_000);
});

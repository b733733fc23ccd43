/**
 * One throwaway server with a module installed: what `apxs-ts test` runs a
 * case file against, and what `import { serverFor } from 'apxs-ts/testing'`
 * hands a vitest suite. A private root on a free port (lib/httpd/
 * throwaway-root.ts), the module installed through the install transaction
 * with the file's config and vhosts, started by ctl; closed, it is stopped
 * and its directory deleted (unless kept).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { freePort } from '../core/ports.js';
import { errorLogPath } from '../ctl/error-log.js';
import { restart, start, stop } from '../ctl/lifecycle.js';
import { upsertBlock } from '../core/marked-block.js';
import { withConfigEdit } from '../httpd/config-edit.js';
import { serverProfile } from '../httpd/profile.js';
import { detectServerRoot, type ServerRoot } from '../httpd/server-root.js';
import { createThrowawayRoot } from '../httpd/throwaway-root.js';
import { readModuleProject } from '../module/compile.js';
import { installProject } from '../module/install-project.js';
import { toolchainForServer } from '../module/toolchain.js';
import type { CaseRequest, VhostSpec } from './case-file.js';
import { sendRequest, type HttpResult } from './http.js';
import { LogWindow } from './log-window.js';
import { makeOwnedRoot } from './owned-roots.js';
import { failpoint } from '../core/failpoint.js';
import { trace } from '../core/trace.js';

export interface ServerForOptions {
  /** The module directory (apxs-ts-module.json, its sources). */
  module: string;
  /**
   * An httpd prefix to clone (any series), or a server root whose httpd is the system's; default:
   * the system httpd.
   */
  serverRoot?: string | ServerRoot;
  /** Config added after the module's <Location> (a directive of the module, another <Location>). */
  config?: string;
  vhosts?: VhostSpec[];
  /** Where the throwaway root's temp dir is made (default: the OS temp dir). */
  tmpDir?: string;
  /** Seconds to wait for httpd to answer after start. */
  startTimeoutSec?: number;
}

export interface TestServer {
  sr: ServerRoot;
  /** The temp dir holding the root: what close deletes. */
  dir: string;
  port: number;
  url: string;
  series: string;
  version: string;
  errorLog: LogWindow;
  request(
    req: Partial<CaseRequest> & { path: string },
    opts?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<HttpResult>;
  /** A graceful restart (a new generation of children), waited for. */
  graceful(): Promise<void>;
  /** Stops httpd (if it runs) and deletes the root unless `keep`. */
  close(opts?: { keep?: boolean }): Promise<void>;
}

/**
 * The vhosts as config lines: a default vhost first (so a request naming none still gets the main
 * server's config).
 */
export function vhostLines(vhosts: VhostSpec[], port: number, nameVirtualHost: boolean): string[] {
  if (!vhosts.length) return [];
  const addr = `*:${port}`;
  const block = (name: string, body: string) => [
    `<VirtualHost ${addr}>`,
    `    ServerName ${name}`,
    ...body
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => `    ${l}`),
    '</VirtualHost>',
  ];
  return [
    ...(nameVirtualHost ? [`NameVirtualHost ${addr}`] : []),
    ...block('localhost', ''),
    ...vhosts.flatMap((v) => block(v.name, v.config)),
  ];
}

/**
 * A started server with the module installed. Throws START_FAILED (httpd's
 * own words in its details) or CONFIG_BROKEN when the file's config is
 * rejected; the temp dir is deleted then unless `keepOnFailure`.
 */
export async function serverFor(
  opts: ServerForOptions & { keepOnFailure?: boolean },
): Promise<TestServer> {
  const target =
    typeof opts.serverRoot === 'string' ? await detectServerRoot(opts.serverRoot) : opts.serverRoot;
  const project = await readModuleProject(opts.module);
  const { dir, release } = await makeOwnedRoot(opts.tmpDir ?? os.tmpdir());
  const job = path.basename(dir);
  trace('test:root-dir', job);
  let sr: ServerRoot | undefined;
  try {
    let port = 0;
    let profile: Awaited<ReturnType<typeof serverProfile>>;
    let log: LogWindow;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const made = await createThrowawayRoot(path.join(dir, 'root'), port, target);
      sr = made.sr;
      trace('test:root-created', `${job} port ${port}`);
      failpoint('test:after-root-created');
      profile = await serverProfile(sr);
      const tc = await toolchainForServer(sr);
      trace('test:installing', job);
      const extraConf = [
        ...(opts.config ? opts.config.split('\n').filter((l) => l.trim() !== '') : []),
        ...vhostLines(opts.vhosts ?? [], port, profile.traits.dialect.nameVirtualHost),
      ];
      await installProject(sr, project, tc);
      if (extraConf.length) await addTestConfig(sr, extraConf);
      log = new LogWindow(await errorLogPath(sr));
      trace('test:starting', job);
      try {
        await start(sr, { timeoutSec: opts.startTimeoutSec ?? 30 });
        break;
      } catch (err) {
        // The free port was taken between freePort() and httpd's bind (another server starting,
        // a client's ephemeral port): a new root on another port, a few times at most.
        if (attempt >= PORT_TRIES || !lostPortRace(err)) throw err;
        trace('test:port-taken', `${job} port ${port}`);
        await stopQuietly(sr);
        sr = undefined;
        await fs.rm(path.join(dir, 'root'), { recursive: true, force: true });
      }
    }
    trace('test:started', job);
    await log.skipToEnd();
    failpoint('test:after-start');
    const root = sr;
    let closed = false;
    return {
      sr: root,
      dir,
      port,
      url: `http://127.0.0.1:${port}`,
      series: profile.series,
      version: profile.version,
      errorLog: log,
      request: (req, o = {}) =>
        sendRequest(
          port,
          { method: 'GET', host: undefined, headers: {}, body: undefined, ...req },
          o,
        ),
      async graceful() {
        await restart(root, { graceful: true, timeoutSec: 30 });
      },
      async close(c = {}) {
        if (closed) return;
        closed = true;
        await stopQuietly(root);
        failpoint('test:before-delete');
        if (!c.keep) await fs.rm(dir, { recursive: true, force: true });
        await release();
      },
    };
  } catch (err) {
    trace('test:server-failed', `${job} ${(err as Error).message}`);
    if (sr) await stopQuietly(sr);
    if (!opts.keepOnFailure) await fs.rm(dir, { recursive: true, force: true });
    await release();
    throw err;
  }
}

const PORT_TRIES = 3;

/** httpd could not bind the port it was given: held at the check, or taken just before its bind. */
function lostPortRace(err: unknown): boolean {
  if (!(err instanceof ApxsError)) return false;
  if (err.code === 'PORT_IN_USE') return true;
  const said = [err.message, ...(err.details ?? [])].join('\n');
  return err.code === 'START_FAILED' && /AH00072|Address already in use/.test(said);
}

/**
 * The case file's config, in a block at the end of the main config (after
 * the shipped LogLevel, <Location>s and the module's block, so that it
 * wins), through the edit transaction: httpd's configtest judges it, and a
 * rejection is CONFIG_BROKEN with httpd's words.
 */
async function addTestConfig(sr: ServerRoot, lines: string[]): Promise<void> {
  await withConfigEdit(sr, "adding the case file's config", async (tx) => {
    const text = await fs.readFile(sr.configFile, 'utf8');
    await tx.write(
      sr.configFile,
      upsertBlock(text, 'test config', lines, text.length, sr.configFile),
    );
  });
}

/**
 * Stops the root's httpd when it runs; a server that is not running is no error here.
 *
 * Gracefully (graceful-stop, SIGWINCH) where the series has it (2.2 and later), else as `ctl stop`
 * does (SIGTERM). A test stops its server a few ms after the last case's response, while httpd's
 * worker may still be closing that connection; an ungraceful stop then races it: 2.4's event MPM
 * closes every worker's socket from the child's main thread (close_worker_sockets) while the
 * worker recycles the connection's pool, and the child segfaults in apr_os_sock_get (a core of it
 * caught under load: 3 of 360 servers). The parent logs "child pid N exit signal Segmentation
 * fault", which the check after the last case rightly counts against the module: the last case
 * failed for httpd's race, not the module's fault. A graceful stop lets every child finish its
 * connections and exit by itself (test/e2e/test-command-stop.test.ts); one that hangs past the
 * deadline is killed by ctl. Once every child has exited, ctl ends the parent at once rather
 * than at its next once-a-second check (lib/ctl/lifecycle.ts).
 */
export async function stopQuietly(
  sr: ServerRoot,
  /** false: SIGTERM, not waiting for requests still running (a Ctrl-C: no result is wanted). */
  opts: { graceful?: boolean } = {},
): Promise<void> {
  const graceful =
    opts.graceful !== false &&
    (await serverProfile(sr).then(
      (p) => p.traits.signals.gracefulStop !== undefined,
      // Its binary unreadable (removed by an upgrade): the plain stop works for every series.
      () => false,
    ));
  await stop(sr, { timeoutSec: 15, graceful }).catch((e: unknown) => {
    if (!(e instanceof ApxsError && e.code === 'NOT_RUNNING')) throw e;
  });
}

/**
 * Where a server's pid file and error log are, and its health URL, even when
 * its config cannot be read now. `ctl start` remembers them in a small JSON
 * in the server root's state dir: a server whose config broke (or became too
 * large to read) after it started must still be stopped, and what it logs
 * goes to the files of the config it started with, not of today's config.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readServerInfo, type ServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';

export type ServerFiles = Pick<ServerInfo, 'pidFile' | 'errorLog' | 'healthUrl'>;

const runFile = (sr: ServerRoot) => path.join(sr.stateDir, 'ctl-run.json');

/** httpd's defaults, for when neither the config nor a remembered start says otherwise. */
export function fallbackInfo(sr: ServerRoot): ServerInfo {
  return {
    listens: [],
    pidFile: `${sr.root}/logs/httpd.pid`,
    errorLog: `${sr.root}/logs/error_log`,
    healthUrl: undefined,
    tree: { serverRoot: sr.root, directives: [], files: [], errors: [] },
  };
}

/** Written before httpd is started or restarted, so that stop never has to parse the config. */
export async function rememberServerFiles(sr: ServerRoot, info: ServerFiles): Promise<void> {
  await fs.mkdir(sr.stateDir, { recursive: true });
  const data: ServerFiles & { written: string } = {
    pidFile: info.pidFile,
    errorLog: info.errorLog,
    healthUrl: info.healthUrl,
    written: new Date().toISOString(),
  };
  // Renamed into place, not fsynced: it is a hint (a lost or torn one falls back to the defaults
  // and the process scan).
  const tmp = `${runFile(sr)}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(data, null, 2) + '\n');
  await fs.rename(tmp, runFile(sr));
}

/** What the last start remembered; undefined when there is no such file or it is unreadable. */
export async function rememberedFiles(sr: ServerRoot): Promise<ServerFiles | undefined> {
  const text = await fs.readFile(runFile(sr), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const j = JSON.parse(text) as Partial<Record<keyof ServerFiles, unknown>>;
    if (typeof j.pidFile !== 'string') return undefined;
    return {
      pidFile: j.pidFile,
      errorLog: typeof j.errorLog === 'string' ? j.errorLog : undefined,
      healthUrl: typeof j.healthUrl === 'string' ? j.healthUrl : undefined,
    };
  } catch {
    return undefined; // a torn or hand-edited file: the defaults and the process scan still work
  }
}

/** For stop: never a config parse. */
export async function stopFiles(sr: ServerRoot): Promise<ServerFiles> {
  return (await rememberedFiles(sr)) ?? fallbackInfo(sr);
}

/**
 * For status and logs: what the running server started with, else the config, else httpd's
 * defaults.
 */
export async function serverFiles(sr: ServerRoot): Promise<ServerFiles> {
  return (await rememberedFiles(sr)) ?? (await readServerInfo(sr).catch(() => fallbackInfo(sr)));
}

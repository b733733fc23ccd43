/** Which processes are this server root's httpd, and ending them outright. */
import { promises as fs } from 'node:fs';
import { childrenOf, isAlive, procInfo, processesOf, sleep } from '../core/proc.js';
import type { ServerRoot } from '../httpd/server-root.js';

/** Is `pid` an httpd of this server root? A pid reused by another program is not. */
export async function isOurHttpd(pid: number, sr: ServerRoot): Promise<boolean> {
  const info = await procInfo(pid);
  if (!info || info.state === 'Z' || info.state === 'X') return false;
  const real = await fs.realpath(sr.httpd).catch(() => sr.httpd);
  const name = (info.cmdline[0] ?? '').split('/').pop() ?? '';
  return info.exe === real || info.exe?.replace(/ \(deleted\)$/, '') === real || /^(httpd|apache2?)$/.test(name);
}

async function killAll(pids: number[]): Promise<void> {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Kills a server and its children outright and removes its pid file. */
export async function forceStop(sr: ServerRoot, pidFile: string, pid: number | undefined): Promise<void> {
  const pids = new Set<number>(await processesOf(sr.httpd, sr.root));
  if (pid !== undefined) {
    pids.add(pid);
    for (const c of await childrenOf(pid)) pids.add(c);
  }
  await killAll([...pids]);
  for (let i = 0; i < 50 && (await Promise.all([...pids].map(isAlive))).some(Boolean); i++) await sleep(10);
  await fs.rm(pidFile, { force: true });
}

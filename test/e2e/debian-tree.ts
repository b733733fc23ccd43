/**
 * A copy of this machine's real Debian /etc/apache2 (the `apache2` package
 * scripts/prereqs.sh installs) in a temp dir, driven by the real a2enmod,
 * a2dismod, a2ensite and a2dissite through APACHE_CONFDIR and
 * APACHE_STATE_DIRECTORY, and by apxs-ts with the same state dir. Never the
 * machine's own /etc/apache2, /var/lib/apache2, /run/apache2 or port 80:
 * the copy's envvars puts run, lock and log dirs in the temp dir (the run
 * dir left uncreated, as after a reboot without systemd), and its Listen and
 * 000-default vhost take a free port.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cli, freePort, tmpDir, type CliResult } from '../helpers.js';

export interface DebianTree {
  work: string;
  /** The copy of /etc/apache2. */
  root: string;
  /** The copy of /var/lib/apache2 (a2enmod's markers). */
  state: string;
  /** Where vhost add makes DocumentRoots (APXS_TS_WWW_DIR). */
  www: string;
  hosts: string;
  port: number;
  /** Environment for apxs-ts runs. */
  env: Record<string, string>;
}

/** The files the copy's setup itself changes (port, run dirs): compared with their bytes after setup, not with dpkg's. */
export const ADJUSTED = ['envvars', 'ports.conf', 'sites-available/000-default.conf'];

export async function debianTree(prefix = 'apxs-ts-deb-'): Promise<DebianTree> {
  const work = await tmpDir(prefix);
  const root = path.join(work, 'apache2');
  const state = path.join(work, 'state');
  const www = path.join(work, 'www');
  execFileSync('cp', ['-a', '/etc/apache2', root]);
  execFileSync('cp', ['-a', '/var/lib/apache2', state]);
  await fs.mkdir(path.join(work, 'log'), { mode: 0o755 });
  await fs.mkdir(www, { mode: 0o755 });
  const port = await freePort();
  await edit(path.join(root, 'envvars'), (t) =>
    t
      .replaceAll('/var/run/apache2$SUFFIX', path.join(work, 'run'))
      .replaceAll('/var/lock/apache2$SUFFIX', path.join(work, 'lock'))
      .replaceAll('/var/log/apache2$SUFFIX', path.join(work, 'log')),
  );
  await edit(path.join(root, 'ports.conf'), (t) => t.replace(/^Listen 80$/m, `Listen ${port}`));
  await edit(path.join(root, 'sites-available', '000-default.conf'), (t) =>
    t.replace('<VirtualHost *:80>', `<VirtualHost *:${port}>`),
  );
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n');
  return {
    work,
    root,
    state,
    www,
    hosts,
    port,
    env: { APACHE_STATE_DIRECTORY: state, APXS_TS_WWW_DIR: www },
  };
}

async function edit(file: string, f: (t: string) => string): Promise<void> {
  const before = await fs.readFile(file, 'utf8');
  const after = f(before);
  if (after === before) throw new Error(`test setup: nothing to change in ${file}`);
  await fs.writeFile(file, after);
}

/** apxs-ts on the copy (with --server-root and --hosts-file added). */
export function apxs(t: DebianTree, args: string[]): Promise<CliResult> {
  return cli(
    [...args, '--server-root', t.root, ...(args[0] === 'vhost' ? ['--hosts-file', t.hosts] : [])],
    { env: t.env },
  );
}

/** A real a2* tool on the copy; its exit code and output. */
export function a2(
  t: DebianTree,
  tool: 'a2enmod' | 'a2dismod' | 'a2ensite' | 'a2dissite' | 'a2enconf' | 'a2disconf',
  ...args: string[]
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      `/usr/sbin/${tool}`,
      ['-q', ...args],
      { env: { ...process.env, APACHE_CONFDIR: t.root, APACHE_STATE_DIRECTORY: t.state } },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          out: stdout + stderr,
        });
      },
    );
  });
}

/** The conffiles under /etc/apache2 that dpkg recorded for the apache2 packages, with their md5, as paths relative to the root. */
export function shippedFiles(): { rel: string; md5: string }[] {
  const out: { rel: string; md5: string }[] = [];
  for (const pkg of ['apache2', 'apache2-bin', 'apache2-data']) {
    const text = execFileSync('dpkg-query', ['-W', '-f=${Conffiles}\\n', pkg], {
      encoding: 'utf8',
    });
    for (const line of text.split('\n')) {
      const m = /^\s*\/etc\/apache2\/(\S+)\s+([0-9a-f]{32})(\s+obsolete)?\s*$/.exec(line);
      if (m && !m[3]) out.push({ rel: m[1]!, md5: m[2]! });
    }
  }
  return out;
}

export async function md5(file: string): Promise<string | undefined> {
  const b = await fs.readFile(file).catch(() => undefined);
  return b && createHash('md5').update(b).digest('hex');
}

/** What a2query would say: the enabled links of a kind, and the marker files, as sorted name lists. */
export async function a2View(
  t: DebianTree,
  kind: 'mods' | 'sites' | 'conf',
): Promise<{ enabled: string[]; markers: Record<string, string[]> }> {
  const ext = kind === 'mods' ? '.load' : '.conf';
  const enabled = (await fs.readdir(path.join(t.root, `${kind}-enabled`)))
    .filter((n) => n.endsWith(ext))
    .map((n) => n.slice(0, -ext.length))
    .sort();
  const obj = kind === 'mods' ? 'module' : kind === 'sites' ? 'site' : 'conf';
  const markers: Record<string, string[]> = {};
  for (const d of await fs.readdir(path.join(t.state, obj)).catch(() => [] as string[])) {
    markers[d] = (await fs.readdir(path.join(t.state, obj, d))).sort();
  }
  return { enabled, markers };
}

/** Stops the copy's httpd if one runs (afterAll). */
export async function stopTree(t: DebianTree | undefined): Promise<void> {
  if (t) await apxs(t, ['ctl', 'stop']);
}

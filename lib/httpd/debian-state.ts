/**
 * The bookkeeping Debian's a2enmod, a2ensite and a2enconf keep beside the
 * *-enabled symlinks, kept the same way by apxs-ts so that `a2query` and the
 * package's maintainer scripts agree with it:
 *  - marker files $APACHE_STATE_DIRECTORY/{module,site,conf}/enabled_by_admin/NAME
 *    (a2query says "enabled by unknown" without one, and a2dismod --purge
 *    and the postinst read them);
 *  - which files under the server root apxs-ts created (a site file it may
 *    delete again, unlike one the admin or the package wrote), in the root's
 *    state dir, written inside the edit transaction;
 *  - the runtime directories envvars names, made before httpd runs as
 *    apache2ctl makes them (httpd refuses a missing DefaultRuntimeDir).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { EditTransaction } from '../core/edit-transaction.js';
import { disk, type FileView } from '../core/file-view.js';
import { readJson } from '../core/fs.js';

export type A2Object = 'module' | 'site' | 'conf';

const MARKER_DIRS = [
  'enabled_by_admin',
  'enabled_by_maint',
  'disabled_by_admin',
  'disabled_by_maint',
] as const;

/**
 * Where a2enmod keeps its markers for the root: $APACHE_STATE_DIRECTORY as
 * a2enmod reads it, else /var/lib/apache2 for the real /etc/apache2 only. A
 * copy of the tree without the variable has none: apxs-ts will not write a
 * copy's markers into the machine's own state.
 */
export function a2StateDir(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.APACHE_STATE_DIRECTORY) return path.resolve(env.APACHE_STATE_DIRECTORY);
  return root === '/etc/apache2' ? '/var/lib/apache2' : undefined;
}

export function markerPaths(root: string, obj: A2Object, name: string): string[] {
  const sd = a2StateDir(root);
  return sd ? MARKER_DIRS.map((d) => path.join(sd, obj, d, name)) : [];
}

/**
 * Whether `p` has the shape of a marker of `name` (…/OBJ/enabled_by_admin/NAME etc.) in any state
 * dir: a save made with another APACHE_STATE_DIRECTORY than this run's names its markers there.
 */
export function isMarkerPath(p: string, obj: A2Object, name: string): boolean {
  const dir = path.dirname(p);
  return (
    path.isAbsolute(p) &&
    path.basename(p) === name &&
    (MARKER_DIRS as readonly string[]).includes(path.basename(dir)) &&
    path.basename(path.dirname(dir)) === obj
  );
}

/** As `a2enmod NAME` leaves them: every other marker of NAME gone, enabled_by_admin/NAME there. */
export async function markEnabled(
  tx: EditTransaction,
  root: string,
  obj: A2Object,
  name: string,
): Promise<void> {
  const paths = markerPaths(root, obj, name);
  const admin = paths[0];
  if (!admin) return;
  for (const p of paths.slice(1)) await tx.remove(p);
  await tx.mkdir(path.dirname(admin));
  await tx.write(admin, '', 0o644);
}

/** As `a2dismod --purge NAME` leaves them: no marker of NAME at all. */
export async function clearMarkers(
  tx: EditTransaction,
  root: string,
  obj: A2Object,
  name: string,
): Promise<void> {
  for (const p of markerPaths(root, obj, name)) await tx.remove(p);
}

interface CreatedRecord {
  /** Absolute path -> what apxs-ts created it as. */
  files: Record<string, { what: string }>;
}

const createdFile = (stateDir: string) => path.join(stateDir, 'debian-created.json');

export async function createdByApxs(
  stateDir: string,
  file: string,
  view: FileView = disk,
): Promise<boolean> {
  const r = await readJson<CreatedRecord>(createdFile(stateDir), 'BAD_INPUT', view);
  return !!r?.files?.[file];
}

/** Records (or with `what` undefined forgets) that apxs-ts created `file`, inside `tx`. */
export async function recordCreated(
  tx: EditTransaction,
  stateDir: string,
  file: string,
  what: string | undefined,
): Promise<void> {
  const r: CreatedRecord = {
    files: {
      ...((await readJson<CreatedRecord>(createdFile(stateDir), 'BAD_INPUT', tx))?.files ?? {}),
    },
  };
  if (what === undefined) delete r.files[file];
  else r.files[file] = { what };
  await tx.write(createdFile(stateDir), JSON.stringify(r, null, 2) + '\n');
}

/**
 * Makes APACHE_RUN_DIR (with socks/) and APACHE_LOCK_DIR as apache2ctl does
 * before it runs httpd: after a reboot without systemd's tmpfiles, or right
 * after `apt-get install apache2` with no service started, /run/apache2 is
 * not there and httpd -t fails on DefaultRuntimeDir. Errors are left for
 * httpd to report (a user who may not create them gets httpd's own message).
 */
export async function makeRuntimeDirs(env: Record<string, string>): Promise<void> {
  const user = env.APACHE_RUN_USER;
  const owned = async (dir: string | undefined, chown: boolean) => {
    if (!dir) return;
    if (
      await fs.stat(dir).then(
        () => true,
        () => false,
      )
    )
      return;
    await fs.mkdir(dir, { recursive: true, mode: 0o755 }).catch(() => undefined);
    if (chown && user) {
      const id = await uidOf(user);
      if (id) await fs.chown(dir, id.uid, id.gid).catch(() => undefined);
    }
  };
  await owned(env.APACHE_RUN_DIR, false);
  if (env.APACHE_RUN_DIR) await owned(path.join(env.APACHE_RUN_DIR, 'socks'), true);
  await owned(env.APACHE_LOCK_DIR, true);
}

async function uidOf(user: string): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  const f = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .find((p) => p[0] === user);
  return f && f[2] && f[3] ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

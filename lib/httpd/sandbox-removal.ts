/**
 * `sandbox remove`'s deleting half (the caller stops the server first): what
 * is provably apxs-ts's or httpd's goes, everything else stays and is named.
 *
 * apxs-ts's:
 *  - a file `sandbox create` wrote (its manifest, sandbox-manifest.ts) whose
 *    bytes are what create wrote, or differ only by apxs-ts's marked blocks
 *    (install, vhost add and ctl loglevel edit httpd.conf only inside them).
 *    A file the user edited by hand outside the blocks is the user's: kept.
 *  - `conf/apxs-ts-*.conf` files holding nothing outside apxs-ts's blocks but
 *    comments and blank lines (the vhosts file vhost add writes).
 *  - what the ledger (.apxs-ts/created.json) records inside the sandbox: the
 *    module .so files install copied; in each DocumentRoot vhost add made,
 *    the index.html it wrote, byte for byte.
 *  - runtime files: the state dir `.apxs-ts/` whole, the files in `logs/` and
 *    `run/` (logs, pid file, sockets; symlinks and subdirectories there stay).
 *  - a directory create or the ledger made, once empty; the sandbox directory
 *    itself once empty.
 * Everything else (a new directory, a new conf file, an edited file, a page
 * in htdocs, a symlink anywhere) is kept. Nothing is followed: the tree is
 * walked with lstat, a symlink is never entered, and a path that leaves the
 * sandbox is never deleted.
 *
 * Order, for kill -9: every file first (the state dir's last: the ledger
 * says what else is ours), then empty directories, then the
 * marker (which holds the manifest), then the sandbox directory, then the
 * list entry. Killed before the marker goes, a second remove finds the same
 * record and deletes what is left; killed after, it finds the list entry and
 * finishes (directory and entry).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError, fileError, isErrno } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { readJson } from '../core/fs.js';
import { readRegistry, updateRegistry } from '../core/registry.js';
import { sha256 } from '../core/sha256.js';
import { fileDiff, type FileDiff } from '../core/change-report.js';
import {
  isPlainRelative,
  readSandboxMarker,
  withoutApxsBlocks,
  type SandboxManifest,
} from './sandbox-manifest.js';
import { sandboxRegistryFile, type SandboxEntry } from './sandbox.js';
import { SANDBOX_MARKER } from './server-root.js';

export interface SandboxFilesRemoved {
  root: string;
  /**
   * What was deleted: [root] when the whole directory went, else each file and directory deleted.
   */
  removed: string[];
  /**
   * What was left because it is not provably apxs-ts's (the user's files, symlinks, edited files).
   */
  kept: string[];
  /**
   * True when an earlier remove had been interrupted after deleting the sandbox's record: this one
   * finished it.
   */
  finished?: boolean;
  /** False: nothing of it was there any more (a second remove), nothing was done (#23). */
  changed: boolean;
  /**
   * The files deleted (would be, under check) outside the runtime dirs, with their content before
   * (Ansible's shape).
   */
  diff: FileDiff[];
}

const STATE_DIR = '.apxs-ts';
const RUNTIME_DIRS = ['logs', 'run'];

interface Entry {
  rel: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
}

/** Every entry below `root`, depth first, by lstat: symlinks are listed, never entered. */
async function walk(root: string, rel = ''): Promise<Entry[]> {
  const out: Entry[] = [];
  const names = await fs.readdir(path.join(root, rel)).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return [] as string[];
    throw fileError(path.join(root, rel), err) ?? err;
  });
  for (const name of names.sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = await fs.lstat(path.join(root, r)).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) {
      out.push({ rel: r, kind: 'dir' });
      out.push(...(await walk(root, r)));
    } else {
      out.push({ rel: r, kind: st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other' });
    }
  }
  return out;
}

/**
 * The index.html vhost add writes into a DocumentRoot it made (lib/sites/vhost-edit.ts indexHtml),
 * exactly.
 */
const VHOST_INDEX =
  /^<!DOCTYPE html>\n<html><head><title>([^<>&"]*)<\/title><\/head>\n<body><h1>\1<\/h1><p>The \1 virtual host, made by apxs-ts\.<\/p><\/body><\/html>\n$/;

/** Only comments and blank lines: what apxs-ts's own conf files hold outside their blocks. */
const onlyComments = (text: string) => text.split(/\r?\n/).every((l) => /^\s*(#.*)?$/.test(l));

interface Ledgerish {
  modules?: Record<string, unknown>;
  docroots?: Record<string, unknown>;
}

/**
 * Ledger paths inside the sandbox, made relative; anything else in the ledger is not this remove's
 * business.
 */
function insideRels(root: string, abs: string[]): Set<string> {
  const out = new Set<string>();
  for (const a of abs) {
    const rel = path.relative(root, path.resolve(root, a)).split(path.sep).join('/');
    if (isPlainRelative(rel)) out.add(rel);
  }
  return out;
}

/** Whether the file at `rel` is apxs-ts's to delete (see the header). */
async function isOurs(
  root: string,
  rel: string,
  made: SandboxManifest,
  modules: Set<string>,
  docroots: Set<string>,
): Promise<boolean> {
  const top = rel.split('/')[0]!;
  if (top === STATE_DIR) return true;
  if (RUNTIME_DIRS.includes(top) && rel.split('/').length === 2) return true;
  if (modules.has(rel)) return true;
  const bytes = await fs.readFile(path.join(root, rel));
  const want = made.files[rel];
  if (want !== undefined) {
    if (sha256(bytes) === want) return true;
    const outside = withoutApxsBlocks(bytes.toString('utf8'));
    return outside !== undefined && sha256(outside) === want;
  }
  if (/^conf\/apxs-ts-[^/]*\.conf$/.test(rel)) {
    const outside = withoutApxsBlocks(bytes.toString('utf8'));
    return outside !== undefined && onlyComments(outside);
  }
  const dir = path.posix.dirname(rel);
  if (docroots.has(dir) && path.posix.basename(rel) === 'index.html')
    return VHOST_INDEX.test(bytes.toString('utf8'));
  return false;
}

/** Removes `p` (a file or an empty directory); gone already is fine (a second run after a kill). */
async function unlinkIfThere(p: string, dir: boolean): Promise<void> {
  try {
    if (dir) await fs.rmdir(p);
    else await fs.unlink(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw fileError(p, err) ?? err;
  }
}

/**
 * Deletes what is apxs-ts's in the sandbox at `root` (already stopped), keeps
 * the rest. `root` must hold a sandbox marker, or be a sandbox the list still
 * names (an interrupted remove: then the directory and the entry are finished).
 */
export async function removeSandboxFiles(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { check?: boolean } = {},
): Promise<SandboxFilesRemoved> {
  const registry = sandboxRegistryFile(env);
  const marker = await readSandboxMarker(root);
  const check = !!opts.check;
  if (!marker) {
    const listed = (await readRegistry<SandboxEntry>(registry)).some((e) => e.root === root);
    if (!listed) {
      const there = await fs.stat(root).then(
        () => true,
        () => false,
      );
      // Gone already (removed before): nothing to do, as asked (#23). A directory that is there and
      // not ours stays refused.
      if (!there) return { root, removed: [], kept: [], changed: false, diff: [] };
      throw new ApxsError(
        'BAD_INPUT',
        there
          ? `${root} is not a sandbox apxs-ts created (no ${SANDBOX_MARKER} in it)`
          : `${root} does not exist`,
        {
          hint: 'apxs-ts sandbox list shows the sandboxes it made; nothing was removed',
          data: { root },
        },
      );
    }
    return {
      ...(await finish(root, registry, [], check)),
      finished: true,
      changed: true,
      diff: [],
    };
  }
  // A marker made before create recorded its manifest: nothing of create's is provably unchanged,
  // so only runtime and ledger files go.
  const made: SandboxManifest = marker.made ?? { files: {}, dirs: [] };
  const ledger =
    (await readJson<Ledgerish>(path.join(root, STATE_DIR, 'created.json')).catch(
      () => undefined,
    )) ?? {};
  const modules = insideRels(root, Object.keys(ledger.modules ?? {}));
  const docroots = insideRels(root, Object.keys(ledger.docroots ?? {}));
  const madeDirs = new Set([
    ...made.dirs.filter(isPlainRelative),
    ...docroots,
    ...[...docroots].map((d) => path.posix.dirname(d)).filter(isPlainRelative),
  ]);

  const entries = await walk(root);
  const removed: string[] = [];
  const kept: string[] = [];
  const diff: FileDiff[] = [];
  // Under check nothing is deleted: `gone` stands for what would be, so directories empty as they
  // would.
  const gone = new Set<string>();
  const del = async (rel: string, dir: boolean) => {
    gone.add(rel);
    if (!check) await unlinkIfThere(path.join(root, rel), dir);
  };
  const leftIn = async (rel: string) =>
    check
      ? entries.filter((x) => path.posix.dirname(x.rel) === rel && !gone.has(x.rel))
      : await fs.readdir(path.join(root, rel)).catch(() => [] as string[]);
  // The state dir last: it holds the ledger, which the next remove needs if this one is killed.
  const inState = (e: Entry) => e.rel === STATE_DIR || e.rel.startsWith(`${STATE_DIR}/`);
  for (const e of [...entries.filter((x) => !inState(x)), ...entries.filter(inState)]) {
    if (e.kind === 'dir' || e.rel === SANDBOX_MARKER) continue;
    const ours =
      e.kind === 'file'
        ? await isOurs(root, e.rel, made, modules, docroots)
        : // A symlink or socket is deleted only in the state dir, or a socket httpd left in run/ or
          // logs/ (unlink never follows).
          e.rel.startsWith(`${STATE_DIR}/`) ||
          (e.kind === 'other' && RUNTIME_DIRS.includes(e.rel.split('/')[0]!));
    if (!ours) {
      kept.push(e.rel);
      continue;
    }
    if (e.kind === 'file' && !RUNTIME_DIRS.includes(e.rel.split('/')[0]!) && !inState(e))
      diff.push(
        fileDiff(path.join(root, e.rel), await fs.readFile(path.join(root, e.rel)), undefined),
      );
    await del(e.rel, false);
    removed.push(e.rel);
    failpoint('sandbox-remove:after-file');
  }
  // Deepest first: a directory empties before its parent is tried.
  for (const e of entries.filter((x) => x.kind === 'dir').reverse()) {
    const ourDir =
      madeDirs.has(e.rel) ||
      e.rel === STATE_DIR ||
      e.rel.startsWith(`${STATE_DIR}/`) ||
      RUNTIME_DIRS.includes(e.rel);
    const left = await leftIn(e.rel);
    if (left.length > 0) continue;
    if (!ourDir) {
      kept.push(e.rel);
      continue;
    }
    await del(e.rel, true);
    removed.push(e.rel);
  }
  failpoint('sandbox-remove:before-marker');
  await del(SANDBOX_MARKER, false);
  removed.push(SANDBOX_MARKER);
  failpoint('sandbox-remove:after-marker');
  const done = await finish(
    root,
    registry,
    kept.map((k) => path.join(root, k)),
    check,
    check ? (await leftIn('.')).map((x) => (typeof x === 'string' ? x : x.rel)) : undefined,
  );
  return {
    ...done,
    removed: done.removed.length ? done.removed : removed.map((r) => path.join(root, r)),
    changed: true,
    diff,
  };
}

/**
 * The last steps: the directory when empty, then the list entry. `check`: decided from
 * `leftUnderCheck`, nothing done.
 */
async function finish(
  root: string,
  registry: string,
  kept: string[],
  check = false,
  leftUnderCheck?: string[],
): Promise<Omit<SandboxFilesRemoved, 'changed' | 'diff'>> {
  let removed: string[] = [];
  const left =
    leftUnderCheck ??
    (await fs
      .readdir(root)
      .catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err))));
  if (left !== undefined && left.length === 0) {
    if (!check) await unlinkIfThere(root, true);
    removed = [root];
  } else if (left === undefined) {
    removed = [root];
  }
  failpoint('sandbox-remove:before-list');
  if (!check)
    await updateRegistry<SandboxEntry>(registry, (now) => now.filter((e) => e.root !== root));
  return { root, removed, kept: kept.length ? kept : (left ?? []).map((n) => path.join(root, n)) };
}

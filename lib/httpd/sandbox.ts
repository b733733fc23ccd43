/**
 * `sandbox create`: a private ServerRoot (conf/, htdocs/, logs/, modules/,
 * run/) that the system's httpd binary runs on a port of the user's choosing.
 * No root needed; outside the directory only apxs-ts.json (when asked) and
 * the per-user list of sandboxes (cache dir, sandboxes.json) are written.
 * The list records what each create made, so that `sandbox remove` deletes
 * that and nothing else.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { failpoint } from '../core/failpoint.js';
import { withLock } from '../core/lock.js';
import { isAlive } from '../core/proc.js';
import { cacheDir } from '../core/cache.js';
import { escapeRegExp, exists, firstGroup, readJson } from '../core/fs.js';
import { ApxsError, fileError, isErrno } from '../core/errors.js';
import { readRegistry, updateRegistry } from '../core/registry.js';
import { SANDBOX_MARKER, PROJECT_FILE, type SandboxMarker } from './server-root.js';
import {
  manifestOf,
  readSandboxMarker,
  type SandboxMarkerWithManifest,
} from './sandbox-manifest.js';
import { findSystemHttpd } from './system-httpd.js';
import { renderTemplateDirs, templatesRoot } from '../core/templates.js';
import { parsePort } from '../core/ports.js';
import { fileDiff, type FileDiff } from '../core/change-report.js';

export interface SandboxOptions {
  dir: string;
  port: number;
  /** Recorded for `vhost add --tls` (its default --tls-port). */
  tlsPort?: number;
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * False: not added to the per-user list (`apxs-ts test`'s throwaway roots, deleted by their run).
   */
  register?: boolean;
  /** Decide and report; write nothing. */
  check?: boolean;
}

export interface SandboxResult {
  root: string;
  port: number;
  httpd: string;
  apxs: string | null;
  url: string;
  configFile: string;
  warnings: string[];
  /** False: the sandbox was there as asked, nothing was written (#23). */
  changed: boolean;
  /** The files written (or, under check, that would be). */
  files: string[];
  /**
   * Each of those files' diff (Ansible's shape); the marker, apxs-ts's own record, is not in it.
   */
  diff: FileDiff[];
}

/** The modules a sandbox loads from the system, when the system has them as DSOs. */
const SYSTEM_MODULES: [string, string][] = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['mime_module', 'mod_mime.so'],
  ['dir_module', 'mod_dir.so'],
];

async function runAsLines(root: string, warnings: string[]): Promise<string> {
  if (process.getuid?.() !== 0)
    return '# Started by a non-root user, httpd keeps that user: no User/Group needed.\n';
  // httpd refuses to serve as root: its children switch to an unprivileged user,
  // which must be able to reach this directory.
  const passwd = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  const user =
    ['www-data', 'daemon', 'nobody'].find((u) =>
      passwd.split('\n').some((l) => l.startsWith(`${u}:`)),
    ) ?? 'nobody';
  const group = await firstGroup([user, 'nogroup', 'nobody'], 'nogroup');
  for (let d = path.dirname(root); d !== path.dirname(d); d = path.dirname(d)) {
    // A directory create is still to make (mkdir -p, 0755): searchable, nothing to say about it.
    const st = await fs
      .stat(d)
      .catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));
    if (st && (st.mode & 0o001) === 0) {
      warnings.push(
        `${d} is not searchable by others: ${user}, the user httpd's ` +
          'children run as, cannot reach the sandbox (requests answer ' +
          '403); chmod o+x it or put the sandbox elsewhere',
      );
      break;
    }
  }
  return (
    `# Started as root: httpd's children switch to this unprivileged user.\n` +
    `User ${user}\nGroup ${group}\n`
  );
}

/** The directories `sandbox create` makes in a sandbox. */
const SANDBOX_DIRS = ['conf', 'htdocs', 'logs', 'modules', 'run'];
/**
 * What a sandbox holds at its top: made by `sandbox create`, or later by ctl (.apxs-ts, its state).
 */
const SANDBOX_ENTRIES = [...SANDBOX_DIRS, '.apxs-ts', SANDBOX_MARKER];

/** One sandbox in the per-user list. */
export interface SandboxEntry {
  root: string;
  port: number;
  httpd: string;
  created: string;
  /** The directory was new or empty when the sandbox was made in it: all of it is the sandbox's. */
  madeDir: boolean;
  /**
   * Its top-level entries that `sandbox create` made (the others were there before, under --force).
   */
  made: string[];
}

export function sandboxRegistryFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'sandboxes.json');
}

/**
 * What `sandbox create` was asked that an existing sandbox was made otherwise (none: it matches).
 */
function settingsThatDiffer(
  marker: SandboxMarkerWithManifest,
  want: { port: number; tlsPort?: number; httpd: string },
): string[] {
  const out: string[] = [];
  if (marker.port !== want.port) out.push(`port ${marker.port} (asked ${want.port})`);
  if (want.tlsPort !== undefined && marker.tlsPort !== want.tlsPort)
    out.push(`tls port ${marker.tlsPort ?? 'none'} (asked ${want.tlsPort})`);
  if (marker.httpd !== want.httpd) out.push(`httpd ${marker.httpd} (now ${want.httpd})`);
  return out;
}

/** How every marker create writes begins (JSON.stringify(marker, null, 2), kind first). */
const MARKER_START = '{\n  "kind": "sandbox",\n';
const isMarkerStart = (b: Buffer) => {
  const text = b.toString('utf8');
  return MARKER_START.startsWith(text) || text.startsWith(MARKER_START);
};

/**
 * The temp files writeFileAtomic left for `base` in `dir` (lib/core/atomic-file.ts names them
 * `.BASE.apxs-ts-PID-X.tmp`) that are proven a create's, not only named so: a regular file of this
 * user's whose bytes `fit` what create writes there. A user's own file that merely looks like one
 * is kept (attack on the no-op locks change). `dead`: also that the process named in it is gone
 * (under the lock, where they are removed: a live one is a create that took another lock,
 * through another path to the same directory).
 */
async function leftoverTemps(
  dir: string,
  base: string,
  fit: (bytes: Buffer) => boolean,
  dead: boolean,
  entries?: string[],
): Promise<string[]> {
  const name = new RegExp(`^\\.${escapeRegExp(base)}\\.apxs-ts-(\\d+)-[0-9a-z]+\\.tmp$`);
  const uid = process.geteuid?.() ?? 0;
  const out: string[] = [];
  for (const e of entries ?? (await fs.readdir(dir).catch(() => [] as string[]))) {
    const pid = name.exec(e)?.[1];
    if (pid === undefined) continue;
    const file = path.join(dir, e);
    const st = await fs.lstat(file).catch(() => undefined);
    if (!st?.isFile() || st.uid !== uid || st.size > 1024 * 1024) continue;
    const bytes = await fs.readFile(file).catch(() => undefined);
    if (bytes === undefined || !fit(bytes)) continue;
    if (dead && (Number(pid) === process.pid || isAlive(Number(pid)))) continue;
    out.push(e);
  }
  return out;
}

const removeTemps = async (dir: string, names: string[]) => {
  for (const t of names)
    await fs.unlink(path.join(dir, t)).catch((err: unknown) => {
      if (!isErrno(err, 'ENOENT')) throw fileError(path.join(dir, t), err) ?? err;
    });
};

const readIfThere = (file: string) =>
  fs
    .readFile(file)
    .catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));

/**
 * Makes the sandbox, idempotently (#23): on a directory that already is a
 * sandbox made with the same settings, only what is missing is made (what
 * a create killed half way left out: files, directories, the list entry);
 * nothing missing is `changed: false` and no byte is written. Made with
 * other settings (another port): SANDBOX_DIFFERS, saying what differs.
 * Files that exist are never rewritten without --force (install, vhost add
 * and ctl loglevel edit httpd.conf). `check`: decide and report, write nothing.
 */
export async function createSandbox(opts: SandboxOptions): Promise<SandboxResult> {
  // Decided first without a lock (a check, or nothing to do, writes nothing,
  // not even a lock file); a create that writes decides again under a lock
  // beside the root, so of two creates at once one makes the sandbox and the
  // other finds it made (changed: false), instead of both writing everything.
  const planned = await createSandboxUnlocked({ ...opts, check: true });
  if (!planned.changed || opts.check) return planned;
  const root = path.resolve(opts.dir);
  await fs.mkdir(path.dirname(root), { recursive: true, mode: 0o755 });
  return withLock(`${root}.apxs-ts.lock`, () => createSandboxUnlocked(opts), 120_000);
}

async function createSandboxUnlocked(opts: SandboxOptions): Promise<SandboxResult> {
  const root = path.resolve(opts.dir);
  const port = parsePort(String(opts.port));
  const tlsPort = opts.tlsPort ? parsePort(String(opts.tlsPort)) : undefined;
  const sys = await findSystemHttpd(opts.env);
  const warnings: string[] = [];
  const entries = await fs
    .readdir(root)
    .catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));
  // The marker's temp file (writeFileAtomic's) is no content: a create writing the marker now
  // holds the lock (this run, unlocked, then waits for it), and one killed there left it behind.
  const temps = entries
    ? await leftoverTemps(root, SANDBOX_MARKER, isMarkerStart, !opts.check, entries)
    : [];
  const existing = entries?.filter((e) => !temps.includes(e));
  const previous = existing?.length ? await readSandboxMarker(root) : undefined;
  // Completing a sandbox that is already there (the same settings): missing pieces only.
  const completing = !!existing?.length && !opts.force;
  if (completing) {
    if (previous?.kind !== 'sandbox')
      throw new ApxsError('DIR_EXISTS', `${root} exists and is not empty`, {
        hint: 'choose an empty or new directory',
      });
    const differ = settingsThatDiffer(previous, { port, tlsPort, httpd: sys.httpd });
    if (differ.length)
      throw new ApxsError(
        'SANDBOX_DIFFERS',
        `${root} is already a sandbox made with other settings: ${differ.join(', ')}`,
        {
          hint:
            'ask for the settings it has, pass --force to write a ' +
            'fresh config with these, or sandbox remove it first',
          data: { root, differs: differ },
        },
      );
  }
  const loadModules: string[] = [];
  for (const [sym, file] of SYSTEM_MODULES) {
    const so = path.join(sys.modulesDir, file);
    if (await exists(so)) loadModules.push(`LoadModule ${sym} ${so}`);
  }
  const files = await renderTemplateDirs([path.join(templatesRoot(), 'sandbox')], {
    root,
    port: String(port),
    listen: `127.0.0.1:${port}`,
    serverName: `localhost:${port}`,
    httpd: sys.httpd,
    loadModules: loadModules.join('\n'),
    runAs: await runAsLines(root, warnings),
  });
  const before = new Map<string, Buffer | undefined>();
  for (const f of files) before.set(f.rel, await readIfThere(path.join(root, f.rel)));
  const dirsMissing = [];
  for (const d of SANDBOX_DIRS) if (!(await exists(path.join(root, d)))) dirsMissing.push(d);
  const listed =
    opts.register === false ||
    (await readRegistry<SandboxEntry>(sandboxRegistryFile(opts.env))).some((e) => e.root === root);
  // Without --force an existing file is kept as it is (apxs-ts's own edits live in it).
  const toWrite = files.filter((f) => {
    const b = before.get(f.rel);
    return completing ? b === undefined : b === undefined || !b.equals(f.content);
  });
  const diff = toWrite.map((f) => fileDiff(path.join(root, f.rel), before.get(f.rel), f.content));
  const changed = !completing || toWrite.length > 0 || dirsMissing.length > 0 || !listed;
  const result: SandboxResult = {
    root,
    port,
    httpd: sys.httpd,
    apxs: sys.apxs ?? null,
    url: `http://127.0.0.1:${port}/`,
    configFile: path.join(root, 'conf', 'httpd.conf'),
    warnings,
    changed,
    files: toWrite.map((f) => path.join(root, f.rel)),
    diff,
  };
  if (!changed || opts.check) return result;

  // What create makes here is recorded (sandbox-manifest.ts): remove deletes that and nothing else.
  const dirsMade = existing?.length ? [] : ['.'];
  for (const d of SANDBOX_DIRS) if (!existing?.includes(d)) dirsMade.push(d);
  await fs.mkdir(root, { recursive: true, mode: 0o755 });
  // Under the lock only this run writes the marker: a temp file of it is a killed create's.
  await removeTemps(root, temps);
  if (!completing) {
    await fs.chmod(root, 0o755);
    // The marker, with the record of what create is about to make, goes first: a create killed
    // after it leaves a sandbox that `sandbox remove` deletes
    // (test/reliability/sandbox-remove.test.ts), and that a second create completes.
    const marker: SandboxMarkerWithManifest = {
      kind: 'sandbox',
      httpd: sys.httpd,
      apxs: sys.apxs ?? null,
      systemModulesDir: sys.modulesDir,
      port,
      ...(tlsPort ? { tlsPort } : {}),
      created: new Date().toISOString(),
      made: manifestOf(files, dirsMade, previous?.made),
    };
    await writeFileAtomic(path.join(root, SANDBOX_MARKER), JSON.stringify(marker, null, 2) + '\n');
  }
  failpoint('sandbox-create:after-marker');
  for (const d of SANDBOX_DIRS)
    await fs.mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
  // A create killed writing a file left its temp file: removed when it holds (the start of) what
  // is written there now, else `sandbox remove` could never take the directory away.
  for (const f of files) {
    const dir = path.dirname(path.join(root, f.rel));
    const fit = (b: Buffer) => f.content.subarray(0, b.length).equals(b);
    await removeTemps(dir, await leftoverTemps(dir, path.basename(f.rel), fit, true));
  }
  for (const f of toWrite) {
    await writeFileAtomic(path.join(root, f.rel), f.content, { mode: 0o644 });
    failpoint('sandbox-create:after-file');
  }
  if (opts.register !== false && !(completing && listed)) {
    const createdAt = (await readSandboxMarker(root))?.created ?? new Date().toISOString();
    await updateRegistry<SandboxEntry>(sandboxRegistryFile(opts.env), (entries) => {
      // Made again over one of ours (--force): what the first create made is still ours.
      const earlier = entries.find((e) => e.root === root);
      // Completing: the entries the interrupted create's manifest says it made (all, if it made the
      // directory).
      const manifest = completing ? previous?.made : undefined;
      const whole = !!manifest?.dirs.includes('.');
      const made = SANDBOX_ENTRIES.filter((e) =>
        completing
          ? whole || e === SANDBOX_MARKER || !!manifest?.dirs.includes(e)
          : !existing?.includes(e) || earlier?.made.includes(e),
      );
      const entry: SandboxEntry = {
        root,
        port,
        httpd: sys.httpd,
        created: createdAt,
        madeDir: earlier?.madeDir ?? (completing ? whole : !existing?.length),
        made,
      };
      return [...entries.filter((e) => e.root !== root), entry];
    });
  }
  return result;
}

export interface ProjectFileResult {
  file: string;
  /**
   * False when the file names another server root and `use` was not given: it was left as it was.
   */
  written: boolean;
  /** The server root it named before (absolute), if any. */
  previous: string | undefined;
  /** Whether its bytes changed (would change, under check): false when it already says this. */
  changed: boolean;
  diff?: FileDiff;
}

/**
 * Records the server root in `<dir>/apxs-ts.json` so later commands below
 * `dir` find it. A file that names another server root is left alone unless
 * `use` is given: a second `sandbox create` must not silently move every
 * later command to another server.
 */
export async function writeProjectFile(
  dir: string,
  serverRoot: string,
  opts: { use?: boolean; check?: boolean } = {},
): Promise<ProjectFileResult> {
  const file = path.join(dir, PROJECT_FILE);
  const current = (await readJson<Record<string, unknown>>(file)) ?? {};
  const previous =
    typeof current.serverRoot === 'string' ? path.resolve(dir, current.serverRoot) : undefined;
  if (previous !== undefined && previous !== path.resolve(serverRoot) && !opts.use)
    return { file, written: false, previous, changed: false };
  // Naming this root already: left as it is, not even rewritten (a second create touches nothing).
  if (previous === path.resolve(serverRoot))
    return { file, written: true, previous, changed: false };
  let rel = path.relative(dir, serverRoot) || '.';
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) rel = rel.startsWith('.') ? rel : `./${rel}`;
  const before = await fs.readFile(file, 'utf8').catch(() => undefined);
  const after = JSON.stringify({ ...current, serverRoot: rel }, null, 2) + os.EOL;
  if (!opts.check) await writeFileAtomic(file, after);
  return { file, written: true, previous, changed: true, diff: fileDiff(file, before, after) };
}

/**
 * The sandboxes this user made whose directory is still a sandbox; the
 * others (deleted, moved, or no longer holding the marker) are dropped from
 * the list.
 */
export async function knownSandboxes(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ sandboxes: SandboxEntry[]; dropped: string[] }> {
  const file = sandboxRegistryFile(env);
  const entries = await readRegistry<SandboxEntry>(file);
  const gone = new Set<string>();
  for (const e of entries) if (!(await isSandbox(e.root))) gone.add(e.root);
  if (gone.size)
    await updateRegistry<SandboxEntry>(file, (now) => now.filter((e) => !gone.has(e.root)));
  return { sandboxes: entries.filter((e) => !gone.has(e.root)), dropped: [...gone] };
}

async function isSandbox(root: string): Promise<boolean> {
  const marker = await readJson<SandboxMarker>(path.join(root, SANDBOX_MARKER)).catch(
    () => undefined,
  );
  return marker?.kind === 'sandbox';
}

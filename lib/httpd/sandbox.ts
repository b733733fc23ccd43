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
import { cacheDir } from '../core/cache.js';
import { exists, firstGroup, readJson } from '../core/fs.js';
import { ApxsError, isErrno } from '../core/errors.js';
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

export interface SandboxOptions {
  dir: string;
  port: number;
  /** Recorded for `vhost add --tls` (its default --tls-port). */
  tlsPort?: number;
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  /** False: not added to the per-user list (`apxs-ts test`'s throwaway roots, deleted by their run). */
  register?: boolean;
}

export interface SandboxResult {
  root: string;
  port: number;
  httpd: string;
  apxs: string | null;
  url: string;
  configFile: string;
  warnings: string[];
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
    const st = await fs.stat(d);
    if ((st.mode & 0o001) === 0) {
      warnings.push(
        `${d} is not searchable by others: ${user}, the user httpd's children run as, cannot reach the sandbox (requests answer 403); chmod o+x it or put the sandbox elsewhere`,
      );
      break;
    }
  }
  return `# Started as root: httpd's children switch to this unprivileged user.\nUser ${user}\nGroup ${group}\n`;
}

/** The directories `sandbox create` makes in a sandbox. */
const SANDBOX_DIRS = ['conf', 'htdocs', 'logs', 'modules', 'run'];
/** What a sandbox holds at its top: made by `sandbox create`, or later by ctl (.apxs-ts, its state). */
const SANDBOX_ENTRIES = [...SANDBOX_DIRS, '.apxs-ts', SANDBOX_MARKER];

/** One sandbox in the per-user list. */
export interface SandboxEntry {
  root: string;
  port: number;
  httpd: string;
  created: string;
  /** The directory was new or empty when the sandbox was made in it: all of it is the sandbox's. */
  madeDir: boolean;
  /** Its top-level entries that `sandbox create` made (the others were there before, under --force). */
  made: string[];
}

export function sandboxRegistryFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'sandboxes.json');
}

export async function createSandbox(opts: SandboxOptions): Promise<SandboxResult> {
  const root = path.resolve(opts.dir);
  const port = parsePort(String(opts.port));
  const sys = await findSystemHttpd(opts.env);
  const warnings: string[] = [];
  const existing = await fs
    .readdir(root)
    .catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));
  if (existing && existing.length > 0 && !opts.force) {
    const marker = await readJson<SandboxMarker>(path.join(root, SANDBOX_MARKER)).catch(
      () => undefined,
    );
    throw new ApxsError(
      'DIR_EXISTS',
      marker ? `${root} is already a sandbox` : `${root} exists and is not empty`,
      {
        hint: marker
          ? 'use it as it is, or pass --force to write a fresh config into it'
          : 'choose an empty or new directory',
      },
    );
  }
  const loadModules: string[] = [];
  for (const [sym, file] of SYSTEM_MODULES) {
    const so = path.join(sys.modulesDir, file);
    if (await exists(so)) loadModules.push(`LoadModule ${sym} ${so}`);
  }
  // What create makes here is recorded (sandbox-manifest.ts): remove deletes that and nothing else.
  const dirsMade = existing?.length ? [] : ['.'];
  for (const d of SANDBOX_DIRS) if (!existing?.includes(d)) dirsMade.push(d);
  await fs.mkdir(root, { recursive: true, mode: 0o755 });
  await fs.chmod(root, 0o755);
  const files = await renderTemplateDirs([path.join(templatesRoot(), 'sandbox')], {
    root,
    port: String(port),
    listen: `127.0.0.1:${port}`,
    serverName: `localhost:${port}`,
    httpd: sys.httpd,
    loadModules: loadModules.join('\n'),
    runAs: await runAsLines(root, warnings),
  });
  // The marker, with the record of what create is about to make, goes first: a create killed after it
  // leaves a sandbox that `sandbox remove` deletes (test/reliability/sandbox-remove.test.ts).
  const previous = await readSandboxMarker(root);
  const marker: SandboxMarkerWithManifest = {
    kind: 'sandbox',
    httpd: sys.httpd,
    apxs: sys.apxs ?? null,
    systemModulesDir: sys.modulesDir,
    port,
    ...(opts.tlsPort ? { tlsPort: parsePort(String(opts.tlsPort)) } : {}),
    created: new Date().toISOString(),
    made: manifestOf(files, dirsMade, previous?.made),
  };
  await writeFileAtomic(path.join(root, SANDBOX_MARKER), JSON.stringify(marker, null, 2) + '\n');
  failpoint('sandbox-create:after-marker');
  for (const d of SANDBOX_DIRS)
    await fs.mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
  for (const f of files) {
    await writeFileAtomic(path.join(root, f.rel), f.content, { mode: 0o644 });
    failpoint('sandbox-create:after-file');
  }
  if (opts.register !== false)
    await updateRegistry<SandboxEntry>(sandboxRegistryFile(opts.env), (entries) => {
      // Made again over one of ours (--force): what the first create made is still ours.
      const before = entries.find((e) => e.root === root);
      const made = SANDBOX_ENTRIES.filter(
        (e) => !existing?.includes(e) || before?.made.includes(e),
      );
      const entry: SandboxEntry = {
        root,
        port,
        httpd: sys.httpd,
        created: marker.created,
        madeDir: before?.madeDir ?? !existing?.length,
        made,
      };
      return [...entries.filter((e) => e.root !== root), entry];
    });
  return {
    root,
    port,
    httpd: sys.httpd,
    apxs: sys.apxs ?? null,
    url: `http://127.0.0.1:${port}/`,
    configFile: path.join(root, 'conf', 'httpd.conf'),
    warnings,
  };
}

export interface ProjectFileResult {
  file: string;
  /** False when the file names another server root and `use` was not given: it was left as it was. */
  written: boolean;
  /** The server root it named before (absolute), if any. */
  previous: string | undefined;
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
  opts: { use?: boolean } = {},
): Promise<ProjectFileResult> {
  const file = path.join(dir, PROJECT_FILE);
  const current = (await readJson<Record<string, unknown>>(file)) ?? {};
  const previous =
    typeof current.serverRoot === 'string' ? path.resolve(dir, current.serverRoot) : undefined;
  if (previous !== undefined && previous !== path.resolve(serverRoot) && !opts.use)
    return { file, written: false, previous };
  let rel = path.relative(dir, serverRoot) || '.';
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) rel = rel.startsWith('.') ? rel : `./${rel}`;
  await writeFileAtomic(file, JSON.stringify({ ...current, serverRoot: rel }, null, 2) + os.EOL);
  return { file, written: true, previous };
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

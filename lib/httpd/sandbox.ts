/**
 * `sandbox create`: a private ServerRoot (conf/, htdocs/, logs/, modules/,
 * run/) that the system's httpd binary runs on a port of the user's choosing.
 * No root needed and nothing outside the directory is written.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { exists, firstGroup, readJson } from '../core/fs.js';
import { ApxsError, isErrno } from '../core/errors.js';
import { SANDBOX_MARKER, PROJECT_FILE, type SandboxMarker } from './server-root.js';
import { findSystemHttpd } from './system-httpd.js';
import { renderTemplateDirs, templatesRoot } from '../core/templates.js';
import { parsePort } from '../core/ports.js';

export interface SandboxOptions {
  dir: string;
  port: number;
  force?: boolean;
  env?: NodeJS.ProcessEnv;
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
  if (process.getuid?.() !== 0) return '# Started by a non-root user, httpd keeps that user: no User/Group needed.\n';
  // httpd refuses to serve as root: its children switch to an unprivileged user,
  // which must be able to reach this directory.
  const passwd = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  const user = ['www-data', 'daemon', 'nobody'].find((u) => passwd.split('\n').some((l) => l.startsWith(`${u}:`))) ?? 'nobody';
  const group = await firstGroup([user, 'nogroup', 'nobody'], 'nogroup');
  for (let d = path.dirname(root); d !== path.dirname(d); d = path.dirname(d)) {
    const st = await fs.stat(d);
    if ((st.mode & 0o001) === 0) {
      warnings.push(`${d} is not searchable by others: ${user}, the user httpd's children run as, cannot reach the sandbox (requests answer 403); chmod o+x it or put the sandbox elsewhere`);
      break;
    }
  }
  return `# Started as root: httpd's children switch to this unprivileged user.\nUser ${user}\nGroup ${group}\n`;
}

export async function createSandbox(opts: SandboxOptions): Promise<SandboxResult> {
  const root = path.resolve(opts.dir);
  const port = parsePort(String(opts.port));
  const sys = await findSystemHttpd(opts.env);
  const warnings: string[] = [];
  const existing = await fs.readdir(root).catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));
  if (existing && existing.length > 0 && !opts.force) {
    const marker = await readJson<SandboxMarker>(path.join(root, SANDBOX_MARKER)).catch(() => undefined);
    throw new ApxsError('DIR_EXISTS', marker ? `${root} is already a sandbox` : `${root} exists and is not empty`, {
      hint: marker ? 'use it as it is, or pass --force to write a fresh config into it' : 'choose an empty or new directory',
    });
  }
  const loadModules: string[] = [];
  for (const [sym, file] of SYSTEM_MODULES) {
    const so = path.join(sys.modulesDir, file);
    if (await exists(so)) loadModules.push(`LoadModule ${sym} ${so}`);
  }
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
  for (const d of ['conf', 'htdocs', 'logs', 'modules', 'run']) await fs.mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
  for (const f of files) {
    await writeFileAtomic(path.join(root, f.rel), f.content, { mode: 0o644 });
  }
  const marker: SandboxMarker = {
    kind: 'sandbox', httpd: sys.httpd, apxs: sys.apxs ?? null, systemModulesDir: sys.modulesDir, port,
    created: new Date().toISOString(),
  };
  await writeFileAtomic(path.join(root, SANDBOX_MARKER), JSON.stringify(marker, null, 2) + '\n');
  return {
    root, port, httpd: sys.httpd, apxs: sys.apxs ?? null, url: `http://127.0.0.1:${port}/`,
    configFile: path.join(root, 'conf', 'httpd.conf'), warnings,
  };
}

/** Records the server root in `<dir>/apxs-ts.json` so later commands below `dir` find it. */
export async function writeProjectFile(dir: string, serverRoot: string): Promise<string> {
  const file = path.join(dir, PROJECT_FILE);
  const current = (await readJson<Record<string, unknown>>(file)) ?? {};
  let rel = path.relative(dir, serverRoot) || '.';
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) rel = rel.startsWith('.') ? rel : `./${rel}`;
  await writeFileAtomic(file, JSON.stringify({ ...current, serverRoot: rel }, null, 2) + os.EOL);
  return file;
}

/** Shared by the tests: temp dirs, the built CLI, free ports. */
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../lib/core/ports.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'bin', 'apxs-ts.js');
export const SHARED_MIRROR = path.resolve(ROOT, '..', 'shared', 'mirror');

/** A temp dir httpd's unprivileged children can traverse (mkdtemp makes 0700). */
export async function tmpDir(prefix = 'apxs-ts-test-'): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(d, 0o755);
  return d;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
  /** Wall time of the run. */
  ms: number;
  /** Killed after `timeoutMs` (code 124 then). */
  killed: boolean;
  /**
   * The signal that ended it, if one did (code is 1 then): a run that died of a signal is not one
   * that failed with a message.
   */
  signal: string | null;
}

/** Runs the built CLI; with `timeoutMs` it is killed then, so a hang is a failure, not a stuck test run. */
export function cli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: opts.cwd ?? ROOT,
        // A hosts command that forgot --hosts-file must fail, never touch /etc/hosts; a command given
        // no server root must not fall back to the machine's /etc/apache2 (a test names a copy instead).
        // A tls command must not make a CA in the real home: a test names its own APXS_TS_CA_DIR.
        env: {
          ...process.env,
          CI: 'true',
          APXS_TS_HOSTS_FILE: '/nonexistent/apxs-ts-test-hosts',
          APXS_TS_SYSTEM_ROOT: 'none',
          APXS_TS_CA_DIR: '/nonexistent/apxs-ts-test-ca',
          ...opts.env,
        },
        maxBuffer: 16 * 1024 * 1024,
        ...(opts.timeoutMs ? { timeout: opts.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
      },
      (err, stdout, stderr) => {
        const killed = !!err && (err as { killed?: boolean }).killed === true;
        const code = killed ? 124 : err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        let json: any;
        if (args.includes('--json')) {
          try {
            json = JSON.parse(stdout);
          } catch {
            json = undefined;
          }
        }
        const signal = (err as { signal?: string | null } | null)?.signal ?? null;
        resolve({ code, stdout, stderr, json, ms: Date.now() - t0, killed, signal });
      },
    );
  });
}

/** The CLI, killed after `limitMs`; code 124 when it was. */
export const cliWithin = (args: string[], limitMs: number) => cli(args, { timeoutMs: limitMs });

/** A sandbox (system httpd, free port, no apxs-ts.json) in a new temp dir; its root is pushed on `roots` for cleanup. */
export async function newSandbox(
  roots?: string[],
): Promise<{ work: string; sr: string; port: number }> {
  const work = await tmpDir();
  const port = await freePort();
  const sr = path.join(work, 'srv');
  const r = await cli(['sandbox', 'create', sr, '--port', String(port), '--no-project']);
  if (r.code !== 0) throw new Error(`sandbox create failed (exit ${r.code}): ${r.stderr}`);
  roots?.push(sr);
  return { work, sr, port };
}

export { freePort };

/** What a test's private hosts file holds at first. */
export const HOSTS_START = '127.0.0.1 localhost\n';

/** A hosts file holding `content`, alone in a new temp dir. */
export async function hostsFile(content = HOSTS_START): Promise<string> {
  const f = path.join(await tmpDir('apxs-ts-hosts-'), 'hosts');
  await fs.writeFile(f, content);
  return f;
}

/** A sandbox (newSandbox) with a private hosts file beside it (`hosts`, HOSTS_START) and its main config (`conf`). */
export async function sandbox(
  roots?: string[],
): Promise<{ work: string; sr: string; port: number; hosts: string; conf: string }> {
  const s = await newSandbox(roots);
  const hosts = path.join(s.work, 'hosts');
  await fs.writeFile(hosts, HOSTS_START);
  return { ...s, hosts, conf: path.join(s.sr, 'conf', 'httpd.conf') };
}

/**
 * A sandbox at `sr` listening on two distinct free ports, plain and TLS (`sandbox create --port
 * --tls-port --no-project`, `env` added to the run's); the create must succeed.
 */
export async function tlsSandbox(
  sr: string,
  env: Record<string, string> = {},
): Promise<{ port: number; tlsPort: number }> {
  const port = await freePort();
  let tlsPort = await freePort();
  while (tlsPort === port) tlsPort = await freePort();
  const r = await cli(
    [
      'sandbox',
      'create',
      sr,
      '--port',
      String(port),
      '--tls-port',
      String(tlsPort),
      '--no-project',
    ],
    { env },
  );
  if (r.code !== 0) throw new Error(`sandbox create ${sr} failed (exit ${r.code}): ${r.stderr}`);
  return { port, tlsPort };
}

/** Whether `openssl verify` chains the certificate `leaf` to the CA certificate `ca`. */
export function opensslVerifies(ca: string, leaf: string): boolean {
  try {
    return execFileSync('openssl', ['verify', '-CAfile', ca, leaf], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).includes(': OK');
  } catch {
    return false;
  }
}

/** GET over node:http (fetch will not send a Host header of our choosing). */
export function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      })
      .on('error', reject);
  });
}

/** Snapshot of every file under a dir: relative path -> bytes (base64), for byte-for-byte comparisons. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out[r] = (await fs.readFile(path.join(dir, r))).toString('base64');
    }
  }
  await walk('');
  return out;
}

/** A scratch copy of the system trust store (never the machine's): its files and the options naming them. */
export interface ScratchStore {
  /** ca-certificates.conf: the certificates it lists are the store's. */
  conf: string;
  share: string;
  local: string;
  /** Where update-ca-certificates writes the bundle (ca-certificates.crt) and its links. */
  etc: string;
  hooks: string;
  /** update-ca-certificates' options naming this store (to run the tool on it again). */
  tool: string[];
  /** `tls trust` / `tls untrust`'s options naming this store. */
  args: string[];
}

/** The paths of a scratch store under `root`, made or not. */
export function scratchStorePaths(root: string): ScratchStore {
  const [conf, share, local, etc, hooks] = [
    'ca-certificates.conf',
    'share',
    'local',
    'etc-certs',
    'hooks',
  ].map((d) => path.join(root, d)) as [string, string, string, string, string];
  return {
    conf,
    share,
    local,
    etc,
    hooks,
    tool: [
      ...['--certsconf', conf, '--certsdir', share, '--localcertsdir', local],
      ...['--etccertsdir', etc, '--hooksdir', hooks],
    ],
    args: [
      ...['--certs-conf', conf, '--certs-dir', share, '--local-certs-dir', local],
      ...['--etc-certs-dir', etc, '--hooks-dir', hooks],
    ],
  };
}

/**
 * A scratch store under `root` as the distribution's update-ca-certificates leaves it, before
 * apxs-ts touches it: the first `mozillaCerts` of the machine's Mozilla certificates (sorted by
 * name) copied in and listed, the tool run on it through its own options.
 */
export async function scratchStore(root: string, mozillaCerts = 0): Promise<ScratchStore> {
  const s = scratchStorePaths(root);
  for (const d of [s.share, s.local, s.etc, s.hooks]) await fs.mkdir(d, { recursive: true });
  const mozilla = '/usr/share/ca-certificates/mozilla';
  const some = (await fs.readdir(mozilla))
    .filter((f) => f.endsWith('.crt'))
    .sort()
    .slice(0, mozillaCerts);
  if (some.length > 0) await fs.mkdir(path.join(s.share, 'mozilla'));
  for (const f of some) await fs.copyFile(path.join(mozilla, f), path.join(s.share, 'mozilla', f));
  await fs.writeFile(s.conf, some.map((f) => `mozilla/${f}\n`).join(''));
  await new Promise<void>((resolve, reject) =>
    execFile('update-ca-certificates', s.tool, (err) => (err ? reject(err) : resolve())),
  );
  return s;
}

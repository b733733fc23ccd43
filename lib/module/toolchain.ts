/**
 * Compiler and flags for building modules against one httpd, from its apxs
 * (`apxs -q`) or, for a prefix without perl, its build/config_vars.mk. The
 * answer is cached per apxs file identity, so only the first build pays for
 * starting perl.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, exists } from '../core/fs.js';
import { ApxsError } from '../core/errors.js';
import { runCapture } from '../core/run.js';

export interface Toolchain {
  /** Identity of the source of these flags (path + mtime + size); a change means rebuild. */
  key: string;
  cc: string;
  cxx: string;
  /** Flags for both compilers (optimisation, defines, includes). */
  cflags: string[];
  /** Flags for linking a shared module. */
  ldflags: string[];
}

const VARS = ['CC', 'CXX', 'CFLAGS', 'CPPFLAGS', 'EXTRA_CPPFLAGS', 'EXTRA_CFLAGS', 'INCLUDEDIR', 'EXTRA_INCLUDES'] as const;
type Vars = Record<(typeof VARS)[number], string>;


async function fileKey(file: string): Promise<string> {
  const st = await fs.stat(file);
  return `${file}:${st.mtimeMs}:${st.size}`;
}

function words(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}

async function queryApxs(apxs: string): Promise<Vars> {
  const res = await runCapture(apxs, ['-q', ...VARS]);
  if (res.exitCode !== 0) {
    throw new ApxsError('TOOL_MISSING', `${apxs} -q failed (exit ${res.exitCode})`, {
      details: res.all.split('\n').slice(-5), hint: 'apxs needs perl and the httpd build files (apache2-dev)',
    });
  }
  // apxs -q with several names prints their values joined by ";;".
  const values = res.stdout.replace(/\n$/, '').split(';;');
  return Object.fromEntries(VARS.map((v, i) => [v, (values[i] ?? '').trim()])) as Vars;
}

/** Reads `NAME = value` lines of config_vars.mk, expanding $(NAME) references. */
export function parseConfigVars(text: string): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m) raw[m[1]!] = m[2]!;
  }
  const expand = (v: string, depth: number): string =>
    depth > 10 ? v : v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, n: string) => expand(raw[n] ?? '', depth + 1));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, expand(v, 0)]));
}

function pickCxx(cc: string, cxx: string, env: NodeJS.ProcessEnv): string {
  if (env.CXX) return env.CXX;
  if (cxx) return cxx;
  // x86_64-linux-gnu-gcc -> x86_64-linux-gnu-g++, gcc -> g++, clang -> clang++
  if (/gcc$/.test(cc)) return cc.replace(/gcc$/, 'g++');
  if (/clang$/.test(cc)) return `${cc}++`;
  return 'g++';
}

function fromVars(v: Vars, key: string, env: NodeJS.ProcessEnv): Toolchain {
  const cc = env.CC || v.CC || 'gcc';
  const includes = [`-I${v.INCLUDEDIR}`, ...words(v.EXTRA_INCLUDES)];
  const seen = new Set<string>();
  const cflags = [...words(v.CFLAGS), ...words(v.EXTRA_CFLAGS), ...words(v.CPPFLAGS), ...words(v.EXTRA_CPPFLAGS), ...includes]
    // "-I." and "-I/usr/include" from apxs only slow the compiler down and shadow headers.
    .filter((f) => f !== '-I.' && f !== '-I/usr/include' && !(f.startsWith('-I') && seen.has(f)) && (seen.add(f), true));
  return { key, cc, cxx: pickCxx(cc, v.CXX, env), cflags: [...cflags, '-fPIC', '-DPIC'], ldflags: ['-shared'] };
}

export async function loadToolchain(opts: { apxs?: string; root?: string }, env = process.env): Promise<Toolchain> {
  let source: string | undefined;
  if (opts.apxs && (await exists(opts.apxs))) source = opts.apxs;
  else if (opts.root && (await exists(path.join(opts.root, 'build', 'config_vars.mk')))) source = path.join(opts.root, 'build', 'config_vars.mk');
  else if (!opts.apxs && (await exists('/usr/bin/apxs'))) source = '/usr/bin/apxs';
  if (!source) {
    throw new ApxsError('TOOL_MISSING', 'no apxs found to take compiler flags from', {
      hint: 'install apache2-dev (apt-get install -y apache2-dev), or pass --server-root of an httpd built with apxs',
    });
  }
  const key = await fileKey(source);
  const cacheFile = path.join(cacheDir(env), `toolchain-${createHash('sha1').update(key).digest('hex').slice(0, 16)}.json`);
  const cached = await fs.readFile(cacheFile, 'utf8').then((t) => JSON.parse(t) as Vars, () => undefined);
  let vars = cached;
  if (!vars) {
    vars = source.endsWith('.mk')
      ? (parseConfigVars(await fs.readFile(source, 'utf8')) as unknown as Vars)
      : await queryApxs(source);
    for (const k of VARS) vars[k] ??= '';
    await fs.mkdir(path.dirname(cacheFile), { recursive: true });
    await fs.writeFile(`${cacheFile}.${process.pid}`, JSON.stringify(vars));
    await fs.rename(`${cacheFile}.${process.pid}`, cacheFile);
  }
  return fromVars(vars, key, env);
}

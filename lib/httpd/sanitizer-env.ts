/**
 * A module built with `build --sanitize` (issue #21) names its sanitizer's
 * runtime (DT_NEEDED libasan.so.N / libubsan.so.N), and httpd can load it
 * only when that runtime is the process's first library: every httpd run
 * that loads the modules (configtest, start, debug) gets it in LD_PRELOAD,
 * found where the compiler has it (`CC -print-file-name=`), and the
 * sanitizer's options: reports into the server's crash directory (one file
 * per process, which httpd's children can write), leak detection off
 * (httpd's pools are freed at exit or never, which would drown the report),
 * abort on the first error so that the parent logs the child's death like
 * any crash, and no ASan core (its shadow memory would make it terabytes).
 *
 * The runtime's name is looked for in each .so's bytes (where its dynamic
 * string table holds it); a module that merely contains the text
 * "libasan.so.8" would get the preload too, which is harmless.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { which } from '../core/fs.js';
import { runCapture } from '../core/run.js';

const RUNTIME = /lib(?:asan|ubsan)\.so\.\d+/g;
const seen = new Map<string, string[]>();

/**
 * The sanitizer runtimes the modules in `modulesDir` need, ASan first (it must be the first
 * library).
 */
export async function sanitizerRuntimes(modulesDir: string): Promise<string[]> {
  const names = (await fs.readdir(modulesDir).catch(() => [] as string[])).filter((n) =>
    n.endsWith('.so'),
  );
  const needed = new Set<string>();
  for (const n of names) {
    const file = path.join(modulesDir, n);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st) continue;
    const key = `${file}\0${st.mtimeMs}\0${st.size}`;
    let found = seen.get(key);
    if (!found) {
      const bytes = await fs.readFile(file).catch(() => Buffer.alloc(0));
      found = [...new Set(bytes.toString('latin1').match(RUNTIME) ?? [])];
      seen.set(key, found);
    }
    for (const r of found) needed.add(r);
  }
  return [...needed].sort(
    (a, b) => Number(b.startsWith('libasan')) - Number(a.startsWith('libasan')),
  );
}

async function runtimePath(soname: string): Promise<string> {
  const cc = process.env.CC || (await which(['gcc', 'cc', 'clang'])) || 'gcc';
  const res = await runCapture(cc, [`-print-file-name=${soname}`]).catch(() => undefined);
  const p = res?.stdout.trim();
  return p && path.isAbsolute(p) ? p : soname;
}

/**
 * LD_PRELOAD and the sanitizer options for an httpd whose modules need a runtime; {} when none
 * does.
 */
export async function sanitizerEnv(
  modulesDir: string,
  reportDir: string,
  base: Record<string, string | undefined>,
): Promise<Record<string, string>> {
  const runtimes = await sanitizerRuntimes(modulesDir);
  if (runtimes.length === 0) return {};
  const paths = await Promise.all(runtimes.map(runtimePath));
  const preload = base.LD_PRELOAD ?? process.env.LD_PRELOAD;
  const env: Record<string, string> = {
    LD_PRELOAD: [...paths, ...(preload ? [preload] : [])].join(':'),
  };
  // the user's own come last and win
  const user = (k: string) => (process.env[k] ? `:${process.env[k]}` : '');
  if (runtimes.some((r) => r.startsWith('libasan'))) {
    env.ASAN_OPTIONS =
      `log_path=${reportDir}/asan:detect_leaks=0:abort_on_error=1:disable_coredump=1:symbolize=1` +
      `${user('ASAN_OPTIONS')}`;
  }
  if (runtimes.some((r) => r.startsWith('libubsan'))) {
    env.UBSAN_OPTIONS =
      `log_path=${reportDir}/ubsan:print_stacktrace=1:halt_on_error=1:abort_on_error=1` +
      `${user('UBSAN_OPTIONS')}`;
  }
  return env;
}

/**
 * Fixes old httpd trees need to build on a modern Debian, applied
 * automatically, each logged and recorded in the receipt, each safe to run
 * twice (a fixed tree is left alone).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface FixRecord {
  id: string;
  description: string;
  files: string[];
}

async function rewrite(file: string, fn: (text: string) => string): Promise<boolean> {
  const text = await fs.readFile(file, 'latin1').catch(() => undefined);
  if (text === undefined) return false;
  const next = fn(text);
  if (next === text) return false;
  await fs.writeFile(file, next, 'latin1');
  return true;
}

/**
 * 1.3's htdigest.c, htpasswd.c and logresolve.c define their own getline(),
 * which clashes with the one glibc declares in <stdio.h>.
 */
export async function renameGetline(root: string): Promise<FixRecord | undefined> {
  const files: string[] = [];
  for (const f of ['htdigest.c', 'htpasswd.c', 'logresolve.c']) {
    const file = path.join(root, 'src', 'support', f);
    // Only the word getline, not apxs_getline (already fixed) nor ap_getline.
    if (await rewrite(file, (t) => t.replace(/(?<![A-Za-z0-9_])getline(?=\s*\()/g, 'apxs_getline')))
      files.push(file);
  }
  return files.length
    ? {
        id: 'getline',
        description:
          'renamed the local getline() of the 1.3 support ' +
          'programs to apxs_getline() (glibc declares getline)',
        files,
      }
    : undefined;
}

/** glibc 2.32 removed _sys_siglist: drop the define so 1.3 uses strsignal instead. */
export async function dropSysSiglist(root: string): Promise<FixRecord | undefined> {
  const file = path.join(root, 'src', 'include', 'ap_config.h');
  const changed = await rewrite(file, (t) =>
    t.replace(/^[ \t]*#[ \t]*define[ \t]+SYS_SIGLIST[ \t]+_sys_siglist[ \t]*\r?\n/gm, ''),
  );
  return changed
    ? {
        id: 'sys_siglist',
        description:
          'dropped "#define SYS_SIGLIST _sys_siglist" from ' +
          'ap_config.h (glibc 2.32 removed _sys_siglist)',
        files: [file],
      }
    : undefined;
}

/** 2.0's installed httpd.conf says `Group #-1`, which httpd rejects: use a real group. */
export async function fixGroupMinusOne(
  confFile: string,
  group: string,
): Promise<FixRecord | undefined> {
  const changed = await rewrite(confFile, (t) =>
    t.replace(/^([ \t]*Group[ \t]+)#-1[ \t]*$/gm, `$1${group}`),
  );
  return changed
    ? {
        id: 'group-minus-one',
        description:
          `replaced "Group #-1" with "Group ${group}" in ` +
          'httpd.conf (httpd 2.0 will not start with it)',
        files: [confFile],
      }
    : undefined;
}

/** Source-tree fixes for a series, before configure. */

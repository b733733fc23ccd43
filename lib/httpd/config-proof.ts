/**
 * A passing configtest carried from one step to the next: `dev` installs a
 * module (withConfigEdit runs httpd -t under the root's config lock) and
 * restarts at once; the restart would run httpd -t again on the very same
 * files. A proof is that verdict plus a fingerprint of everything httpd -t
 * read to reach it: every config file's bytes (and the list of them, so a
 * file new in an Include glob counts), the .so of every LoadModule and
 * LoadFile, every other existing file a directive names (certificates,
 * mime.types), the httpd binary, and the command and environment it runs
 * with. The restart reuses the verdict only when the fingerprint it takes
 * under its own lock is the same; anything that differs runs httpd -t again.
 * Files are compared by identity and change time (inode, size, mtime and
 * ctime in ns: ctime cannot be set back by a writer), config files by content.
 * A proof lives in memory only, never on disk where someone else could forge one.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../core/sha256.js';
import { is } from './conf-parse.js';
import { loadConfTree, type ConfTree } from './conf-tree.js';
import type { ConfigTestResult } from './configtest.js';
import { httpdCommand } from './invoke.js';
import type { ServerRoot } from './server-root.js';

export interface ConfigProof {
  /** Which root it was taken on. */
  root: string;
  fingerprint: string;
  verdict: ConfigTestResult;
}

/**
 * Directives whose files httpd writes (logs, pid, locks): they change on every request, and httpd
 * -t does not read them.
 */
const WRITTEN = /log$|^(pidfile|mutex|lockfile|scoreboardfile|scriptsock|coredumpdirectory)$/i;

/** A file's identity and change times; `-` when it is not there or no regular file. */
function fileKey(file: string): string {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!st?.isFile()) return '-';
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function contentKey(file: string): string {
  try {
    return sha256(readFileSync(file));
  } catch {
    return '-';
  }
}

/**
 * The fingerprint of what httpd -t reads for this root now. `tree`: the
 * config tree when the caller has just loaded it (the restart has).
 */
export async function configFingerprint(sr: ServerRoot, tree?: ConfTree): Promise<string> {
  const cmd = await httpdCommand(sr, ['-t']);
  const t = tree ?? (await loadConfTree(sr.configFile, { serverRoot: sr.root, env: cmd.env }));
  const parts: string[] = [
    JSON.stringify([cmd.file, cmd.args, Object.entries(cmd.env).sort()]),
    `httpd ${fileKey(cmd.file)}`,
  ];
  for (const f of t.files) parts.push(`conf ${f} ${fileKey(f)} ${contentKey(f)}`);
  const named = new Set<string>();
  for (const d of t.directives) {
    if (d.kind !== 'directive' || WRITTEN.test(d.name)) continue;
    // LoadModule's file is its second word; any other directive's file may be any word.
    const words = is(d, 'LoadModule') ? d.args.slice(1, 2) : d.args;
    for (const w of words) if (w.includes('/') || w.includes('.')) named.add(w);
  }
  for (const w of [...named].sort()) {
    const abs = path.resolve(t.serverRoot, w);
    const k = fileKey(abs);
    // A word that names no file (a URL path, a host name) says nothing; a LoadModule's missing .so
    // does.
    if (k !== '-' || /\.so$/.test(w)) parts.push(`file ${abs} ${k}`);
  }
  return sha256(parts.join('\n'));
}

/**
 * A proof for `verdict` when nothing changed while it was reached: fingerprints before and after
 * equal.
 */
export function proofOf(
  sr: ServerRoot,
  before: string,
  after: string,
  verdict: ConfigTestResult,
): ConfigProof | undefined {
  return verdict.ok && before === after
    ? { root: sr.root, fingerprint: after, verdict }
    : undefined;
}

/**
 * True when `proof` was taken on this root and its files are, as far as httpd -t can tell, the same
 * now.
 */
export async function proofHolds(
  sr: ServerRoot,
  proof: ConfigProof | undefined,
  tree?: ConfTree,
): Promise<boolean> {
  if (!proof || proof.root !== sr.root || !proof.verdict.ok) return false;
  return (await configFingerprint(sr, tree)) === proof.fingerprint;
}

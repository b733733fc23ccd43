/**
 * A whole temp tree's state, for #23's "changes nothing" checks: every entry's
 * path and type; for a file its size, mtime and sha256; for a symlink its
 * target. A directory's own mtime is left out unless asked for (`dirMtimes`):
 * a run that changes something takes a lock (a file created and removed beside
 * what it guards), which moves it without changing any file; a no-op run takes
 * none, and its checks ask for directory mtimes too.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface EntryState {
  type: 'file' | 'dir' | 'link' | 'other';
  size?: number;
  mtimeNs?: string;
  sha256?: string;
  target?: string;
}

export type TreeState = Record<string, EntryState>;

export async function treeState(
  root: string,
  opts: { dirMtimes?: boolean } = {},
): Promise<TreeState> {
  const out: TreeState = {};
  async function walk(rel: string): Promise<void> {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(root, r);
      if (e.isDirectory()) {
        out[r] = opts.dirMtimes
          ? { type: 'dir', mtimeNs: String((await fs.stat(abs, { bigint: true })).mtimeNs) }
          : { type: 'dir' };
        await walk(r);
      } else if (e.isSymbolicLink()) {
        out[r] = { type: 'link', target: await fs.readlink(abs) };
      } else if (e.isFile()) {
        const st = await fs.stat(abs, { bigint: true });
        const bytes = await fs.readFile(abs);
        out[r] = {
          type: 'file',
          size: Number(st.size),
          mtimeNs: String(st.mtimeNs),
          sha256: createHash('sha256').update(bytes).digest('hex'),
        };
      } else {
        // A socket or FIFO (httpd's cgisock): its presence only.
        out[r] = { type: 'other' };
      }
    }
  }
  await walk('');
  return out;
}

/** The entries that differ between two states, as "path: what" lines (empty when none). */
export function treeChanges(
  before: TreeState,
  after: TreeState,
  ignore: (rel: string) => boolean = () => false,
): string[] {
  const lines: string[] = [];
  for (const p of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (ignore(p)) continue;
    const a = before[p];
    const b = after[p];
    if (!a) lines.push(`${p}: created`);
    else if (!b) lines.push(`${p}: removed`);
    else if (JSON.stringify(a) !== JSON.stringify(b))
      lines.push(
        `${p}: ${(['type', 'size', 'sha256', 'target', 'mtimeNs'] as const)
          .filter((k) => a[k] !== b[k])
          .join(', ')} changed`,
      );
  }
  return lines.sort();
}

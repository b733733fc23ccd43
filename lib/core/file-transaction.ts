/**
 * A set of file edits that either all stay or are all undone byte for byte.
 * Like certbot's Apache reverter, but in memory for the duration of one
 * command plus a timestamped backup on disk for the user.
 */
import { promises as fs } from 'node:fs';
import { backupFile, readIfExists, writeFileAtomic } from './atomic-file.js';

interface Original {
  content: Buffer | undefined;
  mode: number | undefined;
}

export class FileTransaction {
  private readonly originals = new Map<string, Original>();
  /** Symlinks we changed and what they pointed at before (undefined: none). */
  private readonly links = new Map<string, string | undefined>();
  readonly backups: string[] = [];
  readonly changed: string[] = [];

  constructor(private readonly backupDir?: string) {}

  private async remember(file: string): Promise<void> {
    if (this.originals.has(file)) return;
    const content = await readIfExists(file);
    const mode = content === undefined ? undefined : (await fs.stat(file)).mode & 0o7777;
    this.originals.set(file, { content, mode });
    if (content !== undefined) {
      const b = await backupFile(file, this.backupDir);
      if (b) this.backups.push(b);
    }
  }

  /** Writes `data` to `file` unless it already holds exactly that. Returns whether it changed. */
  async write(file: string, data: string | Buffer, mode?: number): Promise<boolean> {
    const current = await readIfExists(file);
    const next = typeof data === 'string' ? Buffer.from(data) : data;
    if (current && current.equals(next)) return false;
    await this.remember(file);
    await writeFileAtomic(file, next, mode === undefined ? {} : { mode });
    this.changed.push(file);
    return true;
  }

  async remove(file: string): Promise<boolean> {
    const linkTarget = await fs.readlink(file).catch(() => undefined);
    if (linkTarget !== undefined) {
      if (!this.links.has(file)) this.links.set(file, linkTarget);
      await fs.rm(file);
      this.changed.push(file);
      return true;
    }
    const current = await readIfExists(file);
    if (current === undefined) return false;
    await this.remember(file);
    await fs.rm(file);
    this.changed.push(file);
    return true;
  }

  /** Points `link` at `target` (a2enmod-style), remembering what was there. */
  async symlink(target: string, link: string): Promise<boolean> {
    const current = await fs.readlink(link).catch(() => undefined);
    if (current === target) return false;
    if (this.links.has(link) === false) this.links.set(link, current);
    await fs.rm(link, { force: true });
    await fs.symlink(target, link);
    this.changed.push(link);
    return true;
  }

  /** Restores every touched file to the bytes (and mode) it had, removing files that did not exist. */
  async rollback(): Promise<string[]> {
    const restored: string[] = [];
    for (const [file, orig] of [...this.originals.entries()].reverse()) {
      if (orig.content === undefined) {
        await fs.rm(file, { force: true });
      } else {
        await writeFileAtomic(file, orig.content, orig.mode === undefined ? {} : { mode: orig.mode });
      }
      restored.push(file);
    }
    for (const [link, target] of this.links) {
      await fs.rm(link, { force: true });
      if (target !== undefined) await fs.symlink(target, link);
      restored.push(link);
    }
    this.originals.clear();
    this.links.clear();
    return restored;
  }
}

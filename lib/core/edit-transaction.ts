/**
 * A set of changes that either all stay or are all undone byte for byte.
 * Like certbot's Apache reverter, but in memory for the duration of one
 * command plus a timestamped backup on disk for the user. Besides file writes
 * and symlinks it undoes what callers register with `onRollback` (a hosts
 * file entry, a directory it created), in reverse order.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { backupFile, readIfExists, writeFileAtomic } from './atomic-file.js';
import { exists } from './fs.js';

interface Original {
  content: Buffer | undefined;
  mode: number | undefined;
}

type Undo = () => Promise<unknown>;

export class EditTransaction {
  private readonly originals = new Map<string, Original>();
  /** Symlinks we changed and what they pointed at before (undefined: none). */
  private readonly links = new Map<string, string | undefined>();
  private readonly undos: Undo[] = [];
  readonly backups: string[] = [];
  readonly changed: string[] = [];

  constructor(private readonly backupDir?: string) {}

  /** True once anything was changed: files, links, or a registered undo. */
  get dirty(): boolean {
    return this.changed.length > 0 || this.undos.length > 0;
  }

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

  /**
   * Creates `dir` (and missing parents); rollback removes the topmost one it
   * created, and only that. Returns that topmost directory, or undefined when
   * `dir` was already there.
   */
  async mkdir(dir: string, mode = 0o755): Promise<string | undefined> {
    if (await exists(dir)) return undefined;
    let top = dir;
    while (!(await exists(path.dirname(top)))) top = path.dirname(top);
    await fs.mkdir(dir, { recursive: true, mode });
    this.onRollback(() => fs.rm(top, { recursive: true, force: true }));
    return top;
  }

  /** Registers an undo for a change that is not a file write (run in reverse order on rollback). */
  onRollback(undo: Undo): void {
    this.undos.push(undo);
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
    for (const undo of this.undos.reverse()) await undo();
    this.originals.clear();
    this.links.clear();
    this.undos.length = 0;
    return restored;
  }
}

/** The name the unit tests and older code use. */
export { EditTransaction as FileTransaction };

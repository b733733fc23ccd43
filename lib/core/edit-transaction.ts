/**
 * A set of changes that either all stay or are all undone byte for byte,
 * even across a kill -9 or a full disk.
 *
 * Write-ahead: each step (a file's original, a symlink's old target, a
 * directory created, a hosts-file change) goes into a journal on disk
 * (written atomically) BEFORE it is made. A file's original is first copied
 * beside it (verified, same file system), so undoing is a rename: a rollback
 * never needs free space it does not already hold. Steps are undone in
 * reverse order, so a change ordered to keep the config valid at every
 * instant (a file before the Include naming it) stays valid while undone.
 *
 * Commit renames the journal to its committed name (no space needed); then
 * the originals' copies become the user's backups and the work that must
 * follow the commit (removing a purged DocumentRoot) is done. Whoever takes
 * the lock next calls `EditTransaction.recover`: an open journal is undone,
 * a committed one finished. Undo and finish are idempotent, so a kill during
 * them is recovered the same way.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  isUndoCopyOf,
  keepCopyAsBackup,
  readIfExists,
  restoreCopy,
  undoCopy,
  undoCopyPath,
  writeError,
  writeFileAtomic,
} from './atomic-file.js';
import { fileDiff, type FileDiff } from './change-report.js';
import { ApxsError } from './errors.js';
import { failpoint } from './failpoint.js';
import { disk, diskEntry, overlayView, type FileView, type FsEntry } from './file-view.js';
import { exists } from './fs.js';
import { withLock } from './lock.js';
import { sha256 as sha } from './sha256.js';

/**
 * One journaled change; `copy` is the verified copy of the original beside it (null: there was no
 * file).
 */
export type Step =
  /**
   * `after`: sha256 of every content this edit wrote to the file, journaled
   * before each write. Undo puts the original back only while the file holds
   * one of them (or the original, or nothing): a file someone changed after
   * a killed edit (by hand, or through another root sharing it) is left.
   */
  | { kind: 'file'; path: string; copy: string | null; after?: string[] }
  | { kind: 'link'; path: string; target: string | null }
  | { kind: 'dir'; path: string }
  /**
   * A file other processes edit under their own `lock` (the hosts file): restored only while it
   * holds `after` (sha256).
   */
  | { kind: 'shared'; path: string; lock: string; copy: string; before: string; after: string };

export interface Journal {
  version: 1;
  what: string;
  pid: number;
  started: string;
  steps: Step[];
  /**
   * Directories removed only after the commit (a purged DocumentRoot): deleting is not undoable.
   */
  removeAfterCommit: string[];
}

const committedName = (file: string) => file.replace(/\.json$/, '.committed.json');
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A path's content as a diff shows it: a symlink as one line naming its target. */
function diffContent(e: FsEntry): Buffer | string | undefined {
  if (e.kind === 'file') return e.data;
  if (e.kind === 'link') return `symlink to ${e.target}\n`;
  return undefined;
}

const sameEntry = (a: FsEntry, b: FsEntry) =>
  a.kind === b.kind &&
  (a.kind !== 'file' || (b.kind === 'file' && a.data.equals(b.data))) &&
  (a.kind !== 'link' || (b.kind === 'link' && a.target === b.target));

/**
 * Also a FileView: an edit reads what it is about to change through the
 * transaction (`tx.readText(file)`), never straight from the disk. Under
 * `check` (plan mode) every change is recorded in memory and nothing is
 * written anywhere (no journal, no undo copy, no backup): the reads see that
 * overlay, so the plan takes the very steps a real run takes.
 */
export class EditTransaction implements FileView {
  private steps: Step[] = [];
  /** Plan mode's changes, by absolute path (empty in a real run: the disk holds them). */
  private readonly overlay = new Map<string, FsEntry>();
  /** Directories the plan makes (empty in the plan, whatever is under that path on disk). */
  private readonly made = new Set<string>();
  private readonly view: ReturnType<typeof overlayView> | undefined;
  /**
   * Each touched path as it was before this edit first touched it, in the order touched: the diffs'
   * "before".
   */
  private readonly before = new Map<string, FsEntry>();
  /**
   * Paths written through (write, shared): their diff compares the content a symlink there leads
   * to, not the link.
   */
  private readonly followed = new Set<string>();
  /** True: a plan; nothing is written. */
  readonly check: boolean;
  private readonly removals: string[] = [];
  /** What a file given to removeAfterCommit held when it was given: its diff shows it going. */
  private readonly removedLater = new Map<string, FsEntry>();
  private readonly id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly started = new Date().toISOString();
  /** Verified copies of the originals until the commit; the kept backups after it. */
  readonly backups: string[] = [];
  readonly changed: string[] = [];
  /** What the user should know: an undo that could not put something back, a backup not kept. */
  readonly warnings: string[] = [];

  /**
   * `backupDir`: where the originals are kept after the commit (none: not kept).
   * `journal`: the journal file and what the edit is, for recovery (none: in memory only, as unit
   * tests use it).
   */
  constructor(
    private readonly backupDir?: string,
    private readonly journal?: { file: string; what: string },
    opts: { check?: boolean } = {},
  ) {
    this.check = !!opts.check;
    this.view = this.check ? overlayView(this.overlay, this.made) : undefined;
  }

  // FileView: the disk in a real run (the changes are there), the overlay over it in a plan.
  read(file: string): Promise<Buffer | undefined> {
    return (this.view ?? disk).read(file);
  }
  readText(file: string): Promise<string | undefined> {
    return (this.view ?? disk).readText(file);
  }
  lstat(file: string): Promise<FsEntry['kind']> {
    return (this.view ?? disk).lstat(file);
  }
  readlink(file: string): Promise<string | undefined> {
    return (this.view ?? disk).readlink(file);
  }
  exists(file: string): Promise<boolean> {
    return (this.view ?? disk).exists(file);
  }
  stat(file: string): Promise<FsEntry['kind']> {
    return (this.view ?? disk).stat(file);
  }
  readdir(dir: string): Promise<string[]> {
    return (this.view ?? disk).readdir(dir);
  }

  private entry(file: string): Promise<FsEntry> {
    return this.view ? this.view.entry(file) : diskEntry(file);
  }

  /** Remembers `file` as it was before this edit first touched it (for the diffs). */
  private async noteBefore(file: string, through = false): Promise<void> {
    if (this.before.has(file)) return;
    if (through) this.followed.add(file);
    this.before.set(file, through ? await this.content(file) : await this.entry(file));
  }

  /** What a read of `file` gets, symlinks followed, as an entry ('absent': nothing to read). */
  private async content(file: string): Promise<FsEntry> {
    const data = await this.read(file);
    return data === undefined ? { kind: 'absent' } : { kind: 'file', data };
  }

  /**
   * One entry per file (or symlink) this edit changed, before and after, in
   * the order first touched; paths `hide` says are left out (apxs-ts's own
   * state). The same in a real run and a plan of it.
   */
  async diffs(hide: (file: string) => boolean = () => false): Promise<FileDiff[]> {
    const out: FileDiff[] = [];
    for (const [file, was] of this.before) {
      if (hide(file)) continue;
      const now = this.followed.has(file) ? await this.content(file) : await this.entry(file);
      if (sameEntry(was, now)) continue;
      if (was.kind === 'dir' || now.kind === 'dir') continue;
      out.push(fileDiff(file, diffContent(was), diffContent(now)));
    }
    // A directory removed after the commit (a purged DocumentRoot) is not listed file by file.
    for (const [file, was] of this.removedLater)
      if (!hide(file) && was.kind === 'file') out.push(fileDiff(file, diffContent(was), undefined));
    return out;
  }

  /** Sets `file`'s mode (a real run only: a plan has no file to set it on). */
  async chmod(file: string, mode: number): Promise<void> {
    if (this.check) return;
    await fs.chmod(file, mode).catch((err: unknown) => {
      throw writeError(file, err);
    });
  }

  /** True once anything was changed. */
  get dirty(): boolean {
    return this.steps.length > 0;
  }

  private has(file: string): boolean {
    return this.steps.some((s) => s.path === file);
  }

  private async record(step: Step): Promise<void> {
    this.steps.push(step);
    if (this.check) return;
    await this.save();
    if (this.steps.length === 1) failpoint('edit:after-journal');
  }

  private async save(): Promise<void> {
    if (!this.journal) return;
    const j: Journal = {
      version: 1,
      what: this.journal.what,
      pid: process.pid,
      started: this.started,
      steps: this.steps,
      removeAfterCommit: this.removals,
    };
    await writeFileAtomic(this.journal.file, `${JSON.stringify(j, null, 2)}\n`);
  }

  /**
   * Journals `file`'s original (a verified copy beside it, or 'absent') the first time it is
   * touched.
   */
  private async remember(file: string, content: Buffer | undefined, next: Buffer): Promise<void> {
    const h = sha(next);
    const step = this.steps.find(
      (s): s is Extract<Step, { kind: 'file' }> => s.kind === 'file' && s.path === file,
    );
    if (step) {
      if (step.after && !step.after.includes(h)) {
        step.after.push(h);
        await this.save();
      }
      return;
    }
    if (this.has(file)) return;
    if (content === undefined) {
      await this.record({ kind: 'file', path: file, copy: null, after: [h] });
      return;
    }
    const copy = await undoCopyPath(file, `${this.id}-${this.steps.length}`);
    await this.record({ kind: 'file', path: file, copy, after: [h] });
    await undoCopy(file, copy, content);
    this.backups.push(copy);
    failpoint('edit:after-backup');
  }

  private done(file: string): true {
    if (!this.check) failpoint('edit:after-change');
    this.changed.push(file);
    return true;
  }

  /** Writes `data` to `file` unless it already holds exactly that. Returns whether it changed. */
  async write(file: string, data: string | Buffer, mode?: number): Promise<boolean> {
    file = await this.linkTarget(path.resolve(file)); // the journal is read by a run in another cwd
    const current = this.check ? await this.read(file) : await readIfExists(file);
    const next = typeof data === 'string' ? Buffer.from(data) : data;
    if (current && current.equals(next)) return false;
    await this.noteBefore(file, true);
    if (this.check) {
      if (!this.has(file)) await this.record({ kind: 'file', path: file, copy: null });
      // A write through a symlink lands on its target (writeFileAtomic follows links): so does the
      // plan's.
      this.overlay.set(await this.view!.target(file), { kind: 'file', data: next });
      return this.done(file);
    }
    await this.remember(file, current, next);
    await writeFileAtomic(file, next, mode === undefined ? {} : { mode });
    return this.done(file);
  }

  /**
   * The file a write to `file` changes: a symlink (an admin's httpd.conf
   * linked from elsewhere) is followed, as writeFileAtomic follows it, so the
   * journal, the diff and a plan's overlay name the file whose bytes change,
   * not the link, which stays as it is.
   */
  private async linkTarget(file: string): Promise<string> {
    let p = file;
    for (let hops = 0; hops < 16; hops++) {
      const target = await this.readlink(p);
      if (target === undefined) return p;
      p = path.resolve(path.dirname(p), target);
    }
    return p;
  }

  /** Removes a file (kept as the copy that undo renames back) or a symlink. */
  async remove(file: string): Promise<boolean> {
    file = path.resolve(file);
    const linkTarget = await this.readlink(file);
    if (linkTarget !== undefined) {
      await this.noteBefore(file);
      if (!this.has(file)) await this.record({ kind: 'link', path: file, target: linkTarget });
      if (this.check) this.overlay.set(file, { kind: 'absent' });
      else await fs.rm(file);
      return this.done(file);
    }
    const current = this.check ? await this.read(file) : await readIfExists(file);
    if (current === undefined) return false;
    await this.noteBefore(file);
    if (this.check) {
      if (!this.has(file)) await this.record({ kind: 'file', path: file, copy: null, after: [] });
      this.overlay.set(file, { kind: 'absent' });
    } else if (this.has(file)) {
      await fs.rm(file);
    } else {
      // The rename is the removal and the backup at once: no space needed.
      const copy = await undoCopyPath(file, `${this.id}-${this.steps.length}`);
      await this.record({ kind: 'file', path: file, copy, after: [] });
      await fs.rename(file, copy).catch((err: unknown) => {
        throw writeError(file, err);
      });
      this.backups.push(copy);
    }
    return this.done(file);
  }

  /** Points `link` at `target` (a2enmod-style), remembering what was there. */
  async symlink(target: string, link: string): Promise<boolean> {
    link = path.resolve(link);
    const current = await this.readlink(link);
    if (current === target) return false;
    await this.noteBefore(link);
    // A file (not a link) in the way: removed as a file, so that undo (the link
    // step first, newest first) takes the link away and then puts the file back.
    if (current === undefined && (await this.lstat(link)) !== 'absent') await this.remove(link);
    if (!this.steps.some((s) => s.kind === 'link' && s.path === link))
      await this.record({ kind: 'link', path: link, target: current ?? null });
    if (this.check) {
      this.overlay.set(link, { kind: 'link', target });
      return this.done(link);
    }
    try {
      await fs.rm(link, { force: true });
      await fs.symlink(target, link);
    } catch (err) {
      throw writeError(link, err);
    }
    return this.done(link);
  }

  /**
   * Creates `dir` (and missing parents); undo removes the topmost one it
   * created, and only that. Returns that topmost directory, or undefined when
   * `dir` was already there.
   */
  async mkdir(dir: string, mode = 0o755): Promise<string | undefined> {
    dir = path.resolve(dir);
    if (await this.exists(dir)) return undefined;
    let top = dir;
    while (!(await this.exists(path.dirname(top)))) top = path.dirname(top);
    await this.record({ kind: 'dir', path: top });
    if (this.check) {
      for (let d = dir; d !== path.dirname(top); d = path.dirname(d)) {
        this.overlay.set(d, { kind: 'dir' });
        this.made.add(d);
      }
      this.done(top);
      return top;
    }
    try {
      await fs.mkdir(dir, { recursive: true, mode });
    } catch (err) {
      throw writeError(dir, err);
    }
    this.done(top);
    return top;
  }

  /**
   * A change `change` makes to a file that other processes edit too, under
   * their own `lock` (the hosts file: `hosts add` does not take this root's
   * lock). `change` must leave exactly `after` in it. Undo puts the original
   * back (a rename) only while the file still holds `after`; when another
   * process changed it since, it is left as it is and a warning says so.
   */
  async shared(
    file: string,
    lock: string,
    after: string | Buffer,
    change: () => Promise<unknown>,
  ): Promise<boolean> {
    // a relative --hosts-file: the journal is read by a run in another cwd
    file = path.resolve(file);
    lock = path.resolve(lock);
    const before = this.check ? await this.read(file) : await fs.readFile(file);
    if (before === undefined)
      throw writeError(file, Object.assign(new Error('no such file'), { code: 'ENOENT' }));
    const next = typeof after === 'string' ? Buffer.from(after) : after;
    if (before.equals(next)) return false;
    await this.noteBefore(file, true);
    if (this.check) {
      // The plan's record of it: a real run's undo step, with nothing copied and `change` not run.
      await this.record({
        kind: 'shared',
        path: file,
        lock,
        copy: '',
        before: sha(before),
        after: sha(next),
      });
      this.overlay.set(await this.view!.target(file), { kind: 'file', data: next });
      return true;
    }
    const copy = await undoCopyPath(file, `${this.id}-${this.steps.length}`);
    await this.record({
      kind: 'shared',
      path: file,
      lock,
      copy,
      before: sha(before),
      after: sha(next),
    });
    await undoCopy(file, copy, before);
    failpoint('edit:after-backup');
    await change();
    failpoint('edit:after-change');
    return true;
  }

  /** Removes `dir` (recursively) after the commit, and only then: deleting is not undoable. */
  async removeAfterCommit(dir: string): Promise<void> {
    this.removals.push(path.resolve(dir));
    this.removedLater.set(path.resolve(dir), await this.entry(path.resolve(dir)));
    if (!this.check) await this.save();
  }

  private async undo(step: Step): Promise<void> {
    switch (step.kind) {
      case 'file': {
        if (step.copy) await fs.rm(`${step.copy}.tmp`, { force: true });
        // A copy already gone was put back already (or never made: the file was not touched).
        if (step.copy && !(await exists(step.copy))) return;
        if (step.after && !(await this.holdsOurs(step))) {
          this.warnings.push(
            `${step.path} was changed by someone else since this edit changed it: left ` +
              `as it is${step.copy ? `; its original is kept as ${step.copy}` : ''}`,
          );
          return;
        }
        if (step.copy) await restoreCopy(step.copy, step.path);
        else await fs.rm(step.path, { force: true });
        return;
      }
      case 'link': {
        // What this edit put there is a link: a file or directory there now is someone else's.
        const st = await fs.lstat(step.path).catch(() => undefined);
        if (st && !st.isSymbolicLink()) {
          this.warnings.push(
            `${step.path} is no longer a symlink (someone put a ` +
              `${st.isDirectory() ? 'directory' : 'file'} there since this edit): ` +
              'left as it is',
          );
          return;
        }
        await fs.rm(step.path, { force: true });
        if (step.target !== null) await fs.symlink(step.target, step.path);
        return;
      }
      case 'dir':
        // Its files were undone first (newer steps): only empty directories are left of what it
        // made.
        if (await holdsFiles(step.path)) {
          this.warnings.push(
            `${step.path} holds files this edit did not make (put there since): left as it is`,
          );
          return;
        }
        await fs.rm(step.path, { recursive: true, force: true });
        return;
      case 'shared':
        await withLock(step.lock, async () => {
          await fs.rm(`${step.copy}.tmp`, { force: true });
          const now = await readIfExists(step.path);
          const h = now && sha(now);
          if (h === step.after) {
            await restoreCopy(step.copy, step.path);
            return;
          }
          await fs.rm(step.copy, { force: true });
          if (h !== step.before)
            this.warnings.push(
              `${step.path} was changed by another program since this ` +
                'edit changed it: left as it is; check its apxs-ts block',
            );
        });
    }
  }

  /**
   * Plan mode only: lays over the disk, in memory, what `recover` would leave
   * of an edit a killed run left (an open journal's steps undone as `undo`
   * decides, a committed one's removals done), reading only. A --check then
   * plans from the files the real run starts from once it has recovered, and
   * reports the same `changed` and diff. Returns what the recovery would do,
   * or undefined when there is no journal.
   */
  async planRecovery(journalFile: string): Promise<string | undefined> {
    if (!this.check) throw new Error('planRecovery is for a plan (check mode)');
    const committed = await readJournal(committedName(journalFile));
    if (committed) {
      for (const d of committed.removeAfterCommit)
        this.overlay.set(path.resolve(d), { kind: 'absent' });
      return (
        `finishes "${committed.what}" (pid ${committed.pid}), ` +
        'which was killed after its commit'
      );
    }
    const j = await readJournal(journalFile);
    if (!j) return undefined;
    for (const step of [...j.steps].reverse()) await this.planUndo(step);
    return `undoes "${j.what}" (pid ${j.pid}), which was killed before it was done`;
  }

  /** `undo`'s decision for one step, recorded in the overlay instead of made. */
  private async planUndo(step: Step): Promise<void> {
    switch (step.kind) {
      case 'file': {
        if (step.copy && !(await exists(step.copy))) return;
        if (step.after && !(await this.holdsOurs(step))) return;
        const original = step.copy ? await readIfExists(step.copy) : undefined;
        this.overlay.set(
          step.path,
          original === undefined ? { kind: 'absent' } : { kind: 'file', data: original },
        );
        return;
      }
      case 'link': {
        const st = await fs.lstat(step.path).catch(() => undefined);
        if (st && !st.isSymbolicLink()) return;
        this.overlay.set(
          step.path,
          step.target === null ? { kind: 'absent' } : { kind: 'link', target: step.target },
        );
        return;
      }
      case 'dir':
        if (!(await this.planHoldsFiles(step.path)))
          this.overlay.set(step.path, { kind: 'absent' });
        return;
      case 'shared': {
        const now = await readIfExists(step.path);
        const original = await readIfExists(step.copy);
        if (now && sha(now) === step.after && original)
          this.overlay.set(step.path, { kind: 'file', data: original });
      }
    }
  }

  /** holdsFiles as the plan sees `dir` (the files its undo removed already gone). */
  private async planHoldsFiles(dir: string): Promise<boolean> {
    for (const name of await this.readdir(dir)) {
      const p = path.join(dir, name);
      const kind = await this.lstat(p);
      if (kind === 'file' && OUR_TEMP.test(name)) continue;
      if (kind !== 'dir' || (await this.planHoldsFiles(p))) return true;
    }
    return false;
  }

  /**
   * Whether `step.path` holds nothing, the original, or what this edit wrote: undoing it loses
   * nobody's change.
   */
  private async holdsOurs(step: Extract<Step, { kind: 'file' }>): Promise<boolean> {
    const now = await readIfExists(step.path);
    if (now === undefined || step.after?.includes(sha(now))) return true;
    const original = step.copy ? await readIfExists(step.copy) : undefined;
    return original !== undefined && original.equals(now);
  }

  /**
   * Undoes every step, newest first, with no new space needed. Returns the
   * paths put back. A step that cannot be undone is a warning, and the
   * journal stays so that the next edit tries again.
   */
  async rollback(): Promise<string[]> {
    if (this.check) {
      // A plan wrote nothing: forgetting it undoes it.
      const planned = this.steps.map((s) => s.path);
      this.steps = [];
      this.overlay.clear();
      return planned.reverse();
    }
    const restored: string[] = [];
    let failed = false;
    for (const step of [...this.steps].reverse()) {
      try {
        await this.undo(step);
        restored.push(step.path);
      } catch (err) {
        failed = true;
        this.warnings.push(`could not put back ${step.path}: ${message(err)}`);
      }
      failpoint('edit:after-undo');
    }
    if (failed) return restored;
    this.steps = [];
    this.backups.length = 0;
    if (this.journal) await fs.rm(this.journal.file, { force: true });
    return restored;
  }

  /**
   * Makes the edit final: the journal renamed to its committed name (the
   * instant the edit counts as done; a rename needs no space), then `finish`,
   * which does not throw. Throws only before that instant.
   */
  async commit(): Promise<void> {
    if (this.check) return;
    if (this.journal && this.steps.length > 0) {
      await fs.rename(this.journal.file, committedName(this.journal.file));
      failpoint('edit:after-commit');
    }
    await this.finish();
  }

  /**
   * After the commit: the originals' copies kept as backups, the removals
   * done, the journal removed. A failure here is a warning: the edit stands.
   */
  private async finish(): Promise<void> {
    this.backups.length = 0;
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        this.warnings.push(`${what}: ${message(err)}`);
      }
    };
    for (const step of this.steps) {
      if (step.kind === 'shared')
        await attempt(`could not remove ${step.copy}`, () => fs.rm(step.copy, { force: true }));
      if (step.kind !== 'file' || !step.copy || !(await exists(step.copy))) continue;
      const { copy } = step;
      await attempt(`kept no backup of ${step.path}`, async () => {
        if (this.backupDir)
          this.backups.push(await keepCopyAsBackup(copy, step.path, this.backupDir));
      });
      await attempt(`could not remove ${copy}`, () => fs.rm(copy, { force: true }));
    }
    if (this.removals.length) failpoint('edit:before-purge');
    for (const dir of this.removals)
      await attempt(`could not remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
    if (this.journal) {
      const file = committedName(this.journal.file);
      await attempt(`could not remove ${file}`, () => fs.rm(file, { force: true }));
    }
  }

  /**
   * Finishes or undoes an edit a killed process left behind in `journalFile`
   * (call it holding the lock the edit held). Returns what it did, for the
   * user, or nothing when there was nothing to recover.
   */
  static async recover(journalFile: string, backupDir?: string): Promise<string[]> {
    for (const [file, committed] of [
      [committedName(journalFile), true],
      [journalFile, false],
    ] as const) {
      const j = await readJournal(file);
      if (!j) continue;
      const tx = new EditTransaction(backupDir, { file: journalFile, what: j.what });
      tx.steps = j.steps;
      tx.removals.push(...j.removeAfterCommit);
      const who = `"${j.what}" (pid ${j.pid}, started ${j.started})`;
      if (committed) {
        await tx.finish();
        const purged = j.removeAfterCommit.length
          ? `; removed ${j.removeAfterCommit.join(', ')}`
          : '';
        return [`finished ${who}, which was killed after its commit${purged}`, ...tx.warnings];
      }
      const restored = await tx.rollback();
      if (tx.dirty) {
        // Its journal stays: no new edit may start over it and lose what it says.
        throw new ApxsError(
          'CONFIG_BROKEN_BEFORE',
          `could not undo ${who}, which was killed before it was done`,
          {
            hint:
              'fix what the details name, then run the command again ' +
              `(the journal ${file} is kept and tried again)`,
            details: tx.warnings,
            data: { journal: file },
          },
        );
      }
      return [
        `undid ${who}, which was killed before it was done: ` +
          `put back ${restored.join(', ') || 'nothing'}`,
        ...tx.warnings,
      ];
    }
    return [];
  }
}

/** writeFileAtomic's temp file, left by a write killed half way: ours. */
const OUR_TEMP = /^\..+\.apxs-ts-\d+-[0-9a-z]+\.tmp$/;

/**
 * Whether `dir` holds anything but directories and our temp files (lstat: a symlink counts as a
 * file, never entered).
 */
async function holdsFiles(dir: string): Promise<boolean> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isFile() && OUR_TEMP.test(e.name)) continue;
    if (!e.isDirectory() || (await holdsFiles(path.join(dir, e.name)))) return true;
  }
  return false;
}

async function readJournal(file: string): Promise<Journal | undefined> {
  const st = await fs.lstat(file).catch(() => undefined);
  if (!st) return undefined;
  trustedJournal(file, st);
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text.toString('utf8')) as Journal;
    if (
      j.version === 1 &&
      Array.isArray(j.steps) &&
      Array.isArray(j.removeAfterCommit) &&
      (await wellFormed(j))
    )
      return j;
  } catch {
    // fall through: written atomically, so this is not a torn write of ours
  }
  throw new ApxsError('BAD_INPUT', `${file} is not an edit journal apxs-ts can read`, {
    hint:
      'it records an interrupted edit of this server root: look at it, ' +
      'then move it away and check the config (apxs-ts ctl configtest)',
    data: { path: file },
  });
}

/**
 * Recovery renames, deletes and removes directories where the journal says,
 * with the rights of whoever runs it (often root): a journal is acted on only
 * when it is a regular file written by that user or by root, and writable by
 * no one else. Another user who can write the server root (a developer's own
 * tree, a shared group directory) must not be able to make root's next
 * `install` delete or replace files outside it.
 */
function trustedJournal(file: string, st: import('node:fs').Stats): void {
  const me = process.geteuid?.() ?? st.uid;
  const why = !st.isFile()
    ? 'is not a regular file (a symlink or other)'
    : st.uid !== me && st.uid !== 0
      ? `belongs to uid ${st.uid}, not to you (uid ${me}) or root`
      : (st.mode & 0o022) !== 0
        ? `is writable by others (mode ${(st.mode & 0o777).toString(8)})`
        : undefined;
  if (!why) return;
  throw new ApxsError('UNSAFE_CONFIG', `${file} ${why}: not recovering the edit it records`, {
    hint:
      'an edit journal is followed only when you or root wrote it; look at it, then move ' +
      'it away (nothing was changed) or run the command as the user who made the edit',
    data: { path: file, uid: st.uid, mode: st.mode & 0o7777 },
  });
}

/**
 * Every path absolute and plain, and every copy an undo copy beside the file it stands for (no
 * journal renames an arbitrary file into place).
 */
async function wellFormed(j: Journal): Promise<boolean> {
  const plain = (p: unknown): p is string =>
    typeof p === 'string' &&
    path.isAbsolute(p) &&
    path.normalize(p) === p &&
    p !== path.parse(p).root;
  if (!j.removeAfterCommit.every(plain)) return false;
  for (const s of j.steps as unknown[]) {
    const step = s as Partial<Record<string, unknown>> & { kind?: unknown };
    if (!plain(step.path)) return false;
    switch (step.kind) {
      case 'dir':
        break;
      case 'file':
        if (step.copy !== null && !(plain(step.copy) && (await isUndoCopyOf(step.copy, step.path))))
          return false;
        if (
          step.after !== undefined &&
          !(Array.isArray(step.after) && step.after.every((h) => typeof h === 'string'))
        )
          return false;
        break;
      case 'link':
        if (step.target !== null && typeof step.target !== 'string') return false;
        break;
      case 'shared': {
        const lock = step.lock;
        if (!plain(lock) || !lock.endsWith('.apxs-ts.lock') || !plain(step.copy)) return false;
        if (
          !(await isUndoCopyOf(step.copy, step.path)) ||
          !(await isUndoCopyOf(step.copy, lock.slice(0, -'.apxs-ts.lock'.length)))
        )
          return false;
        if (typeof step.before !== 'string' || typeof step.after !== 'string') return false;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

/** The name the unit tests and older code use. */

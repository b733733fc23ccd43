/**
 * withConfigEdit (lib/httpd/config-edit.ts) by its public behaviour, on a
 * real sandbox run by the system httpd: a change httpd accepts stays, one it
 * rejects or one whose edit throws is undone byte for byte, nothing changed
 * runs no configtest, apxs-ts's own state files are not reported, and
 * concurrent edits of one root serialize. In-process, for mutation testing.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import { EditTransaction } from '../../lib/core/edit-transaction.js';
import { journalFile, withConfigEdit } from '../../lib/httpd/config-edit.js';
import { detectServerRoot, type ServerRoot } from '../../lib/httpd/server-root.js';
import { newSandbox, snapshot } from '../helpers.js';

let sr: ServerRoot;
beforeAll(async () => {
  sr = await detectServerRoot((await newSandbox()).sr);
}, 60_000);

const conf = () => fs.readFile(sr.configFile, 'utf8');

describe('withConfigEdit', () => {
  it("a change httpd accepts stays; changed lists the user's files, not apxs-ts's state; a backup of the original is kept", async () => {
    const before = await conf();
    const extra = path.join(sr.root, 'conf', 'extra-ok.conf');
    const r = await withConfigEdit(sr, 'a test edit', async (tx) => {
      await tx.write(sr.configFile, `${before}# an accepted comment\n`);
      await tx.write(extra, 'ServerTokens Prod\n');
      await tx.write(path.join(sr.stateDir, 'ledger-test.json'), '{}\n');
      return 'value';
    });
    expect(r.value).toBe('value');
    expect(r.configtest?.ok).toBe(true);
    expect(r.changed.sort()).toEqual([sr.configFile, extra].sort());
    expect(await conf()).toBe(`${before}# an accepted comment\n`);
    expect(r.backups.length).toBeGreaterThanOrEqual(1);
    const backedUp = await Promise.all(r.backups.map((b) => fs.readFile(b, 'utf8')));
    expect(backedUp).toContain(before);
    await withConfigEdit(sr, 'undo', async (tx) => {
      await tx.write(sr.configFile, before);
      await tx.remove(extra);
    });
  });

  it('a change httpd rejects is undone byte for byte: CONFIG_BROKEN naming what was done and how many files were restored', async () => {
    const before = await snapshot(path.join(sr.root, 'conf'));
    const err = await withConfigEdit(sr, 'adding nonsense', async (tx) => {
      await tx.write(sr.configFile, `${await conf()}NoSuchDirective here\n`);
      await tx.write(path.join(sr.root, 'conf', 'new-file.conf'), 'x\n');
    }).then(
      () => undefined,
      (e: unknown) =>
        e as { code: string; message: string; hint: string; data: { restored: string[] } },
    );
    expect(err?.code).toBe('CONFIG_BROKEN');
    expect(err?.message).toContain('httpd rejected the config after adding nonsense');
    expect(err?.hint).toMatch(/^nothing was changed: \d+ file\(s\) restored byte for byte$/);
    expect(await snapshot(path.join(sr.root, 'conf'))).toEqual(before);
  });

  it('an edit that throws is undone and its error passes through; one that changes nothing runs no configtest', async () => {
    const before = await snapshot(path.join(sr.root, 'conf'));
    await expect(
      withConfigEdit(sr, 'x', async (tx) => {
        await tx.write(sr.configFile, 'half done\n');
        throw new Error('the caller failed');
      }),
    ).rejects.toThrow('the caller failed');
    expect(await snapshot(path.join(sr.root, 'conf'))).toEqual(before);
    const none = await withConfigEdit(sr, 'nothing', async () => 7);
    expect(none).toEqual({
      value: 7,
      changed: [],
      backups: [],
      configtest: null,
      warnings: [],
      diff: [],
      check: false,
      didChange: false,
    });
  });

  it("a config httpd rejected before the edit: CONFIG_BROKEN_BEFORE with httpd's file:line and words, the edit undone", async () => {
    const pristine = await conf();
    await fs.appendFile(sr.configFile, 'AlreadyBrokenDirective on\n');
    const before = await snapshot(path.join(sr.root, 'conf'));
    const extra = path.join(sr.root, 'conf', 'harmless.conf');
    const err = await withConfigEdit(sr, 'a harmless edit', async (tx) => {
      await tx.write(extra, '# nothing\n');
    }).then(
      () => undefined,
      (e: unknown) =>
        e as {
          code: string;
          message: string;
          hint: string;
          details: string[];
          data: { output: string; errors: unknown[]; restored: string[] };
        },
    );
    expect(err?.code).toBe('CONFIG_BROKEN_BEFORE');
    expect(err?.message).toMatch(
      new RegExp(
        `^httpd rejects the config as it was before a harmless edit: ${sr.configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: .*AlreadyBrokenDirective`,
      ),
    );
    expect(err?.hint).toBe(
      'fix that first (apxs-ts ctl configtest shows it); nothing was changed (1 file(s) put back)',
    );
    expect(err?.details.join('\n')).toContain('AlreadyBrokenDirective');
    expect(err?.data.output).toContain('AlreadyBrokenDirective');
    expect(err?.data.errors.length).toBeGreaterThan(0);
    expect(err?.data.restored).toEqual([extra]);
    expect(await snapshot(path.join(sr.root, 'conf'))).toEqual(before);
    await fs.writeFile(sr.configFile, pristine);
  });

  it('an edit a killed run left open is undone first, and said: in warnings on success, in the details of an error', async () => {
    const pristine = await conf();
    const leave = async (line: string) => {
      // What a run killed half way leaves: its journal and its change, never committed.
      const tx = new EditTransaction(path.join(sr.stateDir, 'backups'), {
        file: journalFile(sr),
        what: `a killed edit ${line}`,
      });
      await tx.write(sr.configFile, `${pristine}${line}\n`);
    };
    await leave('# killed 1');
    const ok = await withConfigEdit(sr, 'the next edit', async (tx) => {
      await tx.write(sr.configFile, `${await conf()}# next\n`);
    });
    expect(await conf()).toBe(`${pristine}# next\n`);
    expect(ok.warnings).toHaveLength(1);
    expect(ok.warnings[0]).toMatch(
      /^undid "a killed edit # killed 1" \(pid \d+, started .*\), which was killed before it was done: put back .*httpd\.conf/,
    );
    expect(
      ok.backups.every((b) => b.startsWith(path.join(sr.stateDir, 'backups') + path.sep)),
    ).toBe(true);
    await withConfigEdit(sr, 'undo', async (tx) => {
      await tx.write(sr.configFile, pristine);
    });

    await leave('# killed 2');
    const thrown = await withConfigEdit(sr, 'a failing edit', async () => {
      throw new ApxsError('BAD_INPUT', 'the caller refused');
    }).then(
      () => undefined,
      (e: unknown) => e as ApxsError,
    );
    expect(thrown?.message).toBe('the caller refused');
    expect(thrown?.details).toEqual([
      expect.stringMatching(/^warning: undid "a killed edit # killed 2"/),
    ]);
    expect(await conf()).toBe(pristine);

    await leave('# killed 3');
    const rejected = await withConfigEdit(sr, 'adding nonsense', async (tx) => {
      await tx.write(sr.configFile, `${await conf()}NoSuchDirective here\n`);
    }).then(
      () => undefined,
      (e: unknown) => e as ApxsError & { data: { warnings: string[] } },
    );
    expect(rejected?.code).toBe('CONFIG_BROKEN');
    expect(rejected?.data.warnings).toEqual([
      expect.stringMatching(/^undid "a killed edit # killed 3"/),
    ]);
    expect(await conf()).toBe(pristine);
  });

  it('4 concurrent edits of one root serialize: each sees the one before, 4 of 4 lines land', async () => {
    const before = await conf();
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        withConfigEdit(sr, `edit ${i}`, async (tx) => {
          const now = await conf();
          await new Promise((r) => setTimeout(r, 10)); // a window another edit would use, were they not serialized
          await tx.write(sr.configFile, `${now}# line ${i}\n`);
        }),
      ),
    );
    const after = await conf();
    for (const i of [0, 1, 2, 3]) expect(after).toContain(`# line ${i}\n`);
    await withConfigEdit(sr, 'undo', async (tx) => {
      await tx.write(sr.configFile, before);
    });
  });
});

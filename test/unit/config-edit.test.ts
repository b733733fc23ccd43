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
import { withConfigEdit } from '../../lib/httpd/config-edit.js';
import { detectServerRoot, type ServerRoot } from '../../lib/httpd/server-root.js';
import { newSandbox, snapshot } from '../helpers.js';

let sr: ServerRoot;
beforeAll(async () => {
  sr = await detectServerRoot((await newSandbox()).sr);
}, 60_000);

const conf = () => fs.readFile(sr.configFile, 'utf8');

describe('withConfigEdit', () => {
  it('a change httpd accepts stays; changed lists the user\'s files, not apxs-ts\'s state; a backup of the original is kept', async () => {
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
    await withConfigEdit(sr, 'undo', async (tx) => { await tx.write(sr.configFile, before); await tx.remove(extra); });
  });

  it('a change httpd rejects is undone byte for byte: CONFIG_BROKEN naming what was done and how many files were restored', async () => {
    const before = await snapshot(path.join(sr.root, 'conf'));
    const err = await withConfigEdit(sr, 'adding nonsense', async (tx) => {
      await tx.write(sr.configFile, `${await conf()}NoSuchDirective here\n`);
      await tx.write(path.join(sr.root, 'conf', 'new-file.conf'), 'x\n');
    }).then(() => undefined, (e: unknown) => e as { code: string; message: string; hint: string; data: { restored: string[] } });
    expect(err?.code).toBe('CONFIG_BROKEN');
    expect(err?.message).toContain('httpd rejected the config after adding nonsense');
    expect(err?.hint).toMatch(/^nothing was changed: \d+ file\(s\) restored byte for byte$/);
    expect(await snapshot(path.join(sr.root, 'conf'))).toEqual(before);
  });

  it('an edit that throws is undone and its error passes through; one that changes nothing runs no configtest', async () => {
    const before = await snapshot(path.join(sr.root, 'conf'));
    await expect(withConfigEdit(sr, 'x', async (tx) => {
      await tx.write(sr.configFile, 'half done\n');
      throw new Error('the caller failed');
    })).rejects.toThrow('the caller failed');
    expect(await snapshot(path.join(sr.root, 'conf'))).toEqual(before);
    const none = await withConfigEdit(sr, 'nothing', async () => 7);
    expect(none).toEqual({ value: 7, changed: [], backups: [], configtest: null, warnings: [] });
  });

  it('4 concurrent edits of one root serialize: each sees the one before, 4 of 4 lines land', async () => {
    const before = await conf();
    await Promise.all([0, 1, 2, 3].map((i) => withConfigEdit(sr, `edit ${i}`, async (tx) => {
      const now = await conf();
      await new Promise((r) => setTimeout(r, 10)); // a window another edit would use, were they not serialized
      await tx.write(sr.configFile, `${now}# line ${i}\n`);
    })));
    const after = await conf();
    for (const i of [0, 1, 2, 3]) expect(after).toContain(`# line ${i}\n`);
    await withConfigEdit(sr, 'undo', async (tx) => { await tx.write(sr.configFile, before); });
  });
});

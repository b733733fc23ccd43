/**
 * Two real runs of the same idempotent `sandbox create` at once (#23): both
 * exit 0 and exactly one says changed:true (the other finds the sandbox the
 * first made, as asked); the sandbox is whole and registered once.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, tmpDir } from '../helpers.js';

const made: string[] = [];
afterAll(async () => {
  for (const p of made) await cli(['sandbox', 'remove', p]);
});

describe('two sandbox creates of one path at once', () => {
  it('4 rounds x 2 concurrent creates: both exit 0, exactly one changed, the second run after changes nothing', async () => {
    const work = await tmpDir('apxs-ts-atk-create-');
    let rounds = 0;
    for (let i = 0; i < 4; i++) {
      const root = path.join(work, `sb${i}`);
      made.push(root);
      const port = String(await freePort());
      const args = ['sandbox', 'create', root, '--port', port, '--no-project', '--json'];
      const both = await Promise.all([cli(args), cli(args)]);
      for (const r of both) expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(both.map((r) => r.json.changed).sort(), `round ${i}`).toEqual([false, true]);
      const again = await cli(args);
      expect(again.json.changed).toBe(false);
      expect((await fs.stat(path.join(root, 'conf', 'httpd.conf'))).isFile()).toBe(true);
      rounds++;
    }
    expect(rounds).toBe(4);
  }, 120_000);
});

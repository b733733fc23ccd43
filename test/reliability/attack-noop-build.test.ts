/**
 * Attacks on a build with nothing to do, now answered without the build lock (RELIABILITY.md,
 * "Threat model: no-op runs without a lock (attack)"): a source edited while the compiler runs,
 * no-op builds racing real ones, and stamps that are links, FIFOs, huge or not JSON.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';

let work = '';
let dir = '';
let so = '';
let env: Record<string, string> = {};

beforeAll(async () => {
  work = await tmpDir('apxs-ts-atk2-build-');
  // A compiler that, when asked (a flag file), edits the source after compiling it: a user
  // saving the file while the build runs, the compiler having read the earlier text.
  const cc = path.join(work, 'edit-gcc');
  await fs.writeFile(
    cc,
    [
      '#!/bin/sh',
      'gcc "$@" || exit $?',
      `flag=${path.join(work, 'edit-next')}`,
      'if [ -f "$flag" ]; then cat "$flag" >> "$(cat "$flag.src")"; rm -f "$flag"; fi',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  env = { APXS_TS_SERVER_ROOT: '', CC: cc };
  const made = await cli(['new', 'eb', '--template', 'hello'], { cwd: work, env });
  expect(made.code, made.stderr).toBe(0);
  dir = path.join(work, 'mod_eb');
  so = path.join(dir, 'mod_eb.so');
  const first = await cli(['build', '--json'], { cwd: dir, env });
  expect(first.code, first.stdout + first.stderr).toBe(0);
});

const tag = (s: string) =>
  `\nstatic const char eb_tag_${s}[] __attribute__((used)) = "EBTAG-${s}";\n`;

describe('a build whose source is edited while it compiles', () => {
  it('5 rounds: the build after an edit made during the compile is never "up to date"; the .so it leaves holds the edit', async () => {
    const src = path.join(dir, 'mod_eb.c');
    let rounds = 0;
    for (let round = 0; round < 5; round++) {
      await fs.appendFile(src, tag(`a${round}`));
      await fs.writeFile(path.join(work, 'edit-next.src'), src);
      await fs.writeFile(path.join(work, 'edit-next'), tag(`b${round}`));
      const edited = await cli(['build', '--json'], { cwd: dir, env });
      expect(edited.code, edited.stdout + edited.stderr).toBe(0);
      expect(edited.json.upToDate).toBe(false);
      // The compiler read the source before the edit: this .so lacks it.
      expect((await fs.readFile(so)).includes(`EBTAG-b${round}`)).toBe(false);
      const next = await cli(['build', '--json'], { cwd: dir, env });
      expect(next.code, next.stdout + next.stderr).toBe(0);
      expect(next.json.upToDate, `round ${round}: the .so lacks the edit`).toBe(false);
      expect((await fs.readFile(so)).includes(`EBTAG-b${round}`)).toBe(true);
      expect((await cli(['build', '--json'], { cwd: dir, env })).json.upToDate).toBe(true);
      rounds++;
    }
    expect(rounds).toBe(5);
  }, 180_000);
});

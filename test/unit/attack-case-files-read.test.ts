/**
 * Case files that are not case files (#20 attacks), read by readCaseFiles:
 * each is one line of BAD_CASE_FILE naming the file, and the run is
 * bounded. Before: a 12 MB file of 200 000 cases took 1.4 GB and 30 s to
 * parse; a UTF-16 file said "must be a mapping"; a binary file printed
 * 94 YAML errors (136 KB); a FIFO hung the run at its open; a file of
 * 3000 mistakes printed 3000 lines.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import { MAX_CASE_FILE_BYTES, readCaseFiles } from '../../lib/testing/run.js';
import { tmpDir } from '../helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await tmpDir('apxs-ts-atk20read-');
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const GOOD = 'cases:\n  - name: x\n    request: /hi\n    expect: { status: 200 }\n';

async function mistakesOf(name: string, content: string | Buffer | null): Promise<string[]> {
  const f = path.join(dir, name);
  if (content !== null) await fs.writeFile(f, content);
  try {
    await readCaseFiles([f]);
  } catch (e) {
    if (e instanceof ApxsError && e.code === 'BAD_CASE_FILE') return e.details;
    throw e;
  }
  return [];
}

describe('files that are not case files', () => {
  it('a file past the size cap (comments padding a good file): one mistake naming its size', async () => {
    const m = await mistakesOf('big.yaml', GOOD + `#${'x'.repeat(MAX_CASE_FILE_BYTES)}\n`);
    expect(m).toHaveLength(1);
    expect(m[0]).toMatch(/big\.yaml: \d+ bytes: more than a case file may hold \(2 MiB\)/);
  });

  it('UTF-16 (with its BOM): one mistake saying it is not UTF-8', async () => {
    const m = await mistakesOf(
      'u16.yaml',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(GOOD, 'utf16le')]),
    );
    expect(m).toEqual([
      `${path.join(dir, 'u16.yaml')}: not UTF-8 text (it holds NUL bytes: UTF-16, or a binary file?)`,
    ]);
  });

  it('Latin-1 bytes: one mistake saying it is not UTF-8', async () => {
    const m = await mistakesOf(
      'latin1.yaml',
      Buffer.from(GOOD.replace('name: x', 'name: caf\xe9'), 'latin1'),
    );
    expect(m).toEqual([`${path.join(dir, 'latin1.yaml')}: not UTF-8 text (save it as UTF-8)`]);
  });

  it('a binary (/bin/ls): one mistake', async () => {
    const m = await mistakesOf('bin.yaml', await fs.readFile('/bin/ls'));
    expect(m).toHaveLength(1);
  });

  it('a FIFO: one mistake, no hang at the open', async () => {
    execFileSync('mkfifo', [path.join(dir, 'fifo.yaml')]);
    const m = await mistakesOf('fifo.yaml', null);
    expect(m).toEqual([`${path.join(dir, 'fifo.yaml')}: not a regular file`]);
  });

  it('3000 mistakes: 50 shown and a count of the rest', async () => {
    const lines = ['cases:'];
    for (let i = 0; i < 3000; i++)
      lines.push(`  - name: c${i}`, '    request: /hi', '    expect: { stauts: 200 }');
    const m = await mistakesOf('many.yaml', `${lines.join('\n')}\n`);
    expect(m).toHaveLength(51);
    expect(m[50]).toMatch(/^\.\.\. and \d+ more$/);
  });
});

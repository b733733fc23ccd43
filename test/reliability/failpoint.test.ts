import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// A child that reaches steps a, b, b, c and prints after each: the failpoint must stop it exactly there.
const SCRIPT = `
const { failpoint } = require(process.argv[1]);
for (const s of ['a', 'b', 'b', 'c']) { failpoint(s); process.stdout.write(s); }
`;

async function run(
  spec: string | undefined,
): Promise<{ out: string; signal: string | null; mark: string | undefined }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-fp-'));
  const mark = path.join(dir, 'mark');
  const mod = path.resolve(__dirname, '../../dist/lib/core/failpoint.js');
  const env = { ...process.env, APXS_TS_FAILPOINT_MARK: mark } as Record<string, string>;
  if (spec) env.APXS_TS_FAILPOINT = spec;
  else delete env.APXS_TS_FAILPOINT;
  const r = spawnSync(process.execPath, ['-e', SCRIPT, mod], { env, encoding: 'utf8' });
  const m = await fs.readFile(mark, 'utf8').catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
  return { out: r.stdout, signal: r.signal, mark: m?.trim() };
}

describe('failpoint', () => {
  it.each([
    [undefined, 'abbc', null, undefined],
    ['a', '', 'SIGKILL', 'a'],
    ['b', 'a', 'SIGKILL', 'b'],
    ['b@2', 'ab', 'SIGKILL', 'b@2'],
    ['c', 'abb', 'SIGKILL', 'c'],
    ['zzz', 'abbc', null, undefined],
  ])('%s stops after %j', async (spec, out, signal, mark) => {
    const r = await run(spec);
    expect(r.out).toBe(out);
    expect(r.signal).toBe(signal);
    expect(r.mark).toBe(mark);
  });
});

/**
 * `vhost add --tls` reads an existing CA without the CA's lock now (RELIABILITY.md, "Threat
 * model: no-op runs without a lock (attack)"): a `tls ca --new` that holds the lock, the old CA
 * still in place, must be waited for, not raced.
 */
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { CLI, cli, opensslVerifies, tlsSandbox, tmpDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterEach(async () => {
  for (const sr of roots.splice(0)) await cli(['sandbox', 'remove', sr]);
});

const stopped = (pid: number) =>
  /^\d+ \(.*\) T/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\n/g, ''));

it('vhost add --tls while a tls ca --new holds the CA lock before replacing it (stopped there, then let go; 3 rounds): exits 0, its certificate chains to the new CA', async () => {
  const work = await tmpDir('apxs-ts-atk2-tlsnew-');
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const sr = path.join(work, 'srv');
  await tlsSandbox(sr);
  roots.push(sr);
  let rounds = 0;
  for (let round = 0; round < 3; round++) {
    const ca = path.join(work, `ca${round}`);
    const env = { APXS_TS_CA_DIR: ca };
    expect((await cli(['tls', 'ca'], { env })).code).toBe(0);
    const oldCa = await fs.readFile(path.join(ca, 'ca.pem'), 'utf8');
    const mark = path.join(work, `mark${round}`);
    const renew = spawn(process.execPath, [CLI, 'tls', 'ca', '--new', '--json'], {
      stdio: 'ignore',
      env: {
        ...process.env,
        ...env,
        APXS_TS_FAILPOINT: 'tls-ca:locked',
        APXS_TS_FAILPOINT_MARK: mark,
        APXS_TS_FAILPOINT_MODE: 'stop',
      },
    });
    const renewed = new Promise<number | null>((r) => renew.on('exit', r));
    while (!(await fs.readFile(mark, 'utf8').catch(() => ''))) await sleep(20);
    while (!stopped(renew.pid!)) await sleep(20);
    expect((await fs.readFile(mark, 'utf8')).trim()).toBe('tls-ca:locked');
    const add = cli(
      ['vhost', 'add', `n${round}.test`, '--tls', '--server-root', sr, '--hosts-file', hosts],
      { env: { ...env }, timeoutMs: 90_000 },
    );
    await sleep(1500);
    renew.kill('SIGCONT');
    expect(await renewed).toBe(0);
    const r = await add;
    if (r.code) console.log(r.stderr.split('\n').slice(-3).join('\n'));
    expect(r.code, `round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
    const newCa = await fs.readFile(path.join(ca, 'ca.pem'), 'utf8');
    expect(newCa).not.toBe(oldCa);
    const listed = await cli(['vhost', 'list', '--server-root', sr, '--json']);
    const cert = JSON.stringify(listed.json).match(/"([^"]*n\d+\.test-[^"]*\.pem)"/g);
    const leaf = (await fs.readdir(path.join(sr, 'conf'), { recursive: true }))
      .map(String)
      .find((f) => f.includes(`n${round}.test-`) && f.endsWith('.pem'));
    expect(leaf, `round ${round}: ${cert}`).toBeDefined();
    expect(
      opensslVerifies(path.join(ca, 'ca.pem'), path.join(sr, 'conf', leaf!)),
      `round ${round}`,
    ).toBe(true);
    rounds++;
  }
  expect(rounds).toBe(3);
}, 300_000);

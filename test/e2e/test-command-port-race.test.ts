/**
 * `apxs-ts test` picks a free port for each throwaway server, and httpd binds it only later: in
 * between another socket can take it (another server starting, a client's ephemeral port; caught
 * once under load as AH00072 "Address already in use"). The run is held with a failpoint right
 * after its root is made, the test takes the root's port, and the run goes on: it must start the
 * server on another port and pass, not fail the file.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CLI, cli, tmpDir } from '../helpers.js';

const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await fs.rm(t, { recursive: true, force: true });
});

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

it("a port taken between its pick and httpd's bind: the server starts on another and the run passes", async () => {
  const work = await tmpDir('apxs-ts-port-race-');
  temps.push(work);
  const env = { XDG_CACHE_HOME: path.join(work, 'cache'), TMPDIR: work };
  const made = await cli(['new', 'pr', '--template', 'hello', '--dir', work], { env });
  expect(made.code, made.stderr).toBe(0);
  const mark = path.join(work, 'mark');
  const run = spawn(process.execPath, [CLI, 'test', path.join(work, 'mod_pr'), '--json'], {
    env: {
      ...process.env,
      ...env,
      APXS_TS_HOSTS_FILE: '/nonexistent/apxs-ts-test-hosts',
      APXS_TS_SYSTEM_ROOT: 'none',
      APXS_TS_FAILPOINT: 'test:after-root-created',
      APXS_TS_FAILPOINT_MODE: 'stop',
      APXS_TS_FAILPOINT_MARK: mark,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (d) => (stdout += d));
  run.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => run.once('exit', (code) => res(code)));
  const holder = net.createServer();
  try {
    for (let i = 0; i < 600 && !(await exists(mark)); i++)
      await new Promise((res) => setTimeout(res, 100));
    expect(await fs.readFile(mark, 'utf8')).toBe('test:after-root-created\n');
    const roots = (await fs.readdir(work)).filter((n) => n.startsWith('apxs-ts-testroot-'));
    expect(roots).toHaveLength(1);
    const conf = await fs.readFile(
      path.join(work, roots[0]!, 'root', 'conf', 'httpd.conf'),
      'utf8',
    );
    const port = Number(/^Listen\s+(?:[\d.]+:)?(\d+)\s*$/m.exec(conf)![1]);
    await new Promise<void>((res) => holder.listen(port, '127.0.0.1', () => res()));
    run.kill('SIGCONT');
    const code = await exited;
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.passed).toBeGreaterThan(0);
    expect(result.failed).toBe(0);
  } finally {
    run.kill('SIGKILL');
    holder.close();
  }
}, 180_000);

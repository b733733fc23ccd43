/**
 * Issue #18 items 6 and 7: `sandbox list` reports the port the sandbox's
 * config listens on now (not the one given at create), and `sandbox create
 * --port P` on a port something holds warns at once, naming the holder. The
 * test does what each says and asks httpd: the listed port answers; start on
 * the taken port fails as warned, and a sandbox on another port (the
 * warning's advice) answers.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, get, tmpDir } from '../helpers.js';

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

async function setup() {
  const work = await tmpDir('apxs-ts-advice-sbx-');
  const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
  return { work, run: (args: string[]) => cli([...args, '--json'], { env, cwd: work }) };
}

describe('sandbox ports (#18 items 6, 7)', () => {
  it('list: the port the config listens on after Listen moved; that port answers', async () => {
    const { work, run } = await setup();
    const [p1, p2] = [await freePort(), await freePort()];
    const root = path.join(work, 'srv');
    expect(
      (await run(['sandbox', 'create', root, '--port', String(p1), '--no-project'])).code,
    ).toBe(0);
    const conf = path.join(root, 'conf', 'httpd.conf');
    const text = await fs.readFile(conf, 'utf8');
    const listen = /^Listen (\S+)$/m.exec(text)![1]!;
    expect(listen.endsWith(`:${p1}`)).toBe(true);
    await fs.writeFile(conf, text.replaceAll(`:${p1}`, `:${p2}`));
    const list = await run(['sandbox', 'list']);
    const s = list.json.sandboxes.find((x: { root: string }) => x.root === root);
    expect(s).toMatchObject({ port: p2, createdPort: p1, configPorts: [p2] });
    const human = await cli(['sandbox', 'list'], {
      env: { XDG_CACHE_HOME: path.join(work, 'cache') },
    });
    expect(human.stdout).toContain(`stopped\t${p2}\t${root}`);
    expect((await run(['ctl', 'start', '--server-root', root])).code).toBe(0);
    started.push(root);
    expect((await get(`http://127.0.0.1:${s.port}/`)).status).toBe(200);
  });

  it('create on a taken port warns with the holder; start fails as warned; another --port answers', async () => {
    const { work, run } = await setup();
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      const root = path.join(work, 'taken');
      const made = await run(['sandbox', 'create', root, '--port', String(taken), '--no-project']);
      expect(made.code).toBe(0);
      const w = made.json.warnings.find((x: string) => x.includes('already in use'));
      expect(w).toContain(`port ${taken} is already in use by pid ${process.pid}`);
      expect(w).toContain('another --port');
      const start = await run(['ctl', 'start', '--server-root', root]);
      expect(start.code).toBe(1);
      expect(start.json.error.code).toBe('PORT_IN_USE');
      // Following the warning: another --port.
      const other = path.join(work, 'other');
      const port = await freePort();
      const ok = await run(['sandbox', 'create', other, '--port', String(port), '--no-project']);
      expect(ok.json.warnings.filter((x: string) => x.includes('already in use'))).toEqual([]);
      expect((await run(['ctl', 'start', '--server-root', other])).code).toBe(0);
      started.push(other);
      expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    } finally {
      holder.close();
    }
  });
});

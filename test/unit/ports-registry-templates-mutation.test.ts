/**
 * Mutation gaps of lib/core/ports.ts, registry.ts and templates.ts (#16): a
 * client socket is not a listener, the holder's command line is its argv
 * joined by spaces, a registry in an untrusted file is refused by name, and
 * the template renderer's later-dir-wins, names and modes.
 */
import { existsSync, mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canBind, listeningSockets, whoListens } from '../../lib/core/ports.js';
import { readRegistry, updateRegistry } from '../../lib/core/registry.js';
import { fillPlaceholders, renderTemplateDirs, templatesRoot } from '../../lib/core/templates.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

function listen(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => closers.push(() => s.destroy()));
    srv.once('error', reject);
    srv.listen({ port: 0, host }, () => resolve(srv));
    closers.push(() => srv.close());
  });
}
const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port;

describe('ports: the LISTEN table', () => {
  it('canBind defaults to 127.0.0.1: a port held on 127.0.0.2 only is free there', async () => {
    const srv = await listen('127.0.0.2');
    expect(await canBind(portOf(srv))).toBe(true);
    expect(await canBind(portOf(srv), '127.0.0.2')).toBe(false);
  });

  it('a connected client socket of this process maps to no listening address', async () => {
    const srv = await listen('127.0.0.1');
    const client = net.connect(portOf(srv), '127.0.0.1');
    closers.push(() => client.destroy());
    await new Promise<void>((r) => client.once('connect', () => r()));
    const addrs = [...listeningSockets(process.pid).values()].filter(Boolean);
    // Only the listener: neither end of the established connection is in LISTEN.
    expect(addrs.filter((a) => a?.endsWith(`:${portOf(srv)}`))).toEqual([
      `127.0.0.1:${portOf(srv)}`,
    ]);
    expect(addrs.filter((a) => a?.endsWith(`:${client.localPort}`))).toEqual([]);
  });

  it('a holder is named by its argv joined with single spaces, no trailing space', async () => {
    const srv = await listen('127.0.0.1');
    const mine = whoListens(portOf(srv)).find((h) => h.pid === process.pid);
    const argv = readFileSync('/proc/self/cmdline', 'utf8').split('\0').filter(Boolean);
    expect(mine?.command).toBe(argv.join(' '));
    expect(mine?.command).not.toMatch(/ $/);
  });

  it('an IPv6 listener on a full address prints all eight groups, lower case', async () => {
    const srv = await listen('::ffff:127.0.0.1').catch(() => undefined);
    if (!srv) return;
    const addrs = [...listeningSockets(process.pid).values()];
    expect(addrs).toContain(`[::ffff:7f00:1]:${portOf(srv)}`);
  });
});

describe('registry', () => {
  it("a world-writable list is refused, naming it as apxs-ts's list", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apxs-mut3-reg-'));
    const file = path.join(dir, 'list.json');
    await fs.writeFile(file, '{"entries":[1]}\n');
    await fs.chmod(file, 0o666);
    await expect(readRegistry(file)).rejects.toThrow(/refusing apxs-ts's list /);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a list whose directory cannot be made fails naming that directory', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apxs-mut3-reg-'));
    await fs.writeFile(path.join(dir, 'plain'), '');
    const file = path.join(dir, 'plain', 'sub', 'list.json');
    await expect(updateRegistry(file, (e) => e)).rejects.toMatchObject({
      message: expect.stringContaining(path.join(dir, 'plain', 'sub')),
    });
    await fs.rm(dir, { recursive: true, force: true });
  });
});

describe('templates', () => {
  it('templatesRoot: the nearest package.json decides; without templates/ beside it, or without any, INTERNAL', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'apxs-mut3-root-'));
    const deep = path.join(root, 'lib', 'core');
    await fs.mkdir(deep, { recursive: true });
    await fs.writeFile(path.join(root, 'package.json'), '{}');
    expect(() => templatesRoot(deep)).toThrow(
      expect.objectContaining({
        code: 'INTERNAL',
        message: `apxs-ts's templates/ is missing: ${path.join(root, 'templates')}`,
        hint: 'reinstall apxs-ts (npm install -g apxs-ts)',
      }),
    );
    await fs.mkdir(path.join(root, 'templates'));
    expect(templatesRoot(deep)).toBe(path.join(root, 'templates'));
    await fs.rm(path.join(root, 'package.json'));
    // No package.json from here up to / (the test skips where /tmp or / has one).
    if (!['/', os.tmpdir()].some((d) => existsSync(path.join(d, 'package.json'))))
      expect(() => templatesRoot(deep)).toThrow(
        expect.objectContaining({
          code: 'INTERNAL',
          message: `no package.json above ${deep}: apxs-ts's templates/ cannot be found`,
          hint: 'reinstall apxs-ts (npm install -g apxs-ts)',
        }),
      );
    await fs.rm(root, { recursive: true, force: true });
  });

  it('fills names and contents, later dirs win, modes kept, sorted', async () => {
    const a = mkdtempSync(path.join(os.tmpdir(), 'apxs-mut3-tpl-'));
    const b = mkdtempSync(path.join(os.tmpdir(), 'apxs-mut3-tpl-'));
    await fs.writeFile(path.join(a, 'mod_@@name@@.c'), 'A @@name@@ é\n');
    await fs.writeFile(path.join(a, 'z.txt'), 'z\n');
    await fs.writeFile(path.join(b, 'mod_@@name@@.c'), 'B @@name@@ é\n');
    await fs.chmod(path.join(b, 'mod_@@name@@.c'), 0o750);
    const out = await renderTemplateDirs([a, b], { name: 'x' });
    expect(out.map((f) => f.rel)).toEqual(['mod_x.c', 'z.txt']);
    expect(out[0]?.content.toString('hex')).toBe(Buffer.from('B x é\n', 'utf8').toString('hex'));
    expect(out[0]?.mode).toBe(0o750);
    const bad = await renderTemplateDirs([b], {}).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'TEMPLATE' });
    await fs.rm(a, { recursive: true, force: true });
    await fs.rm(b, { recursive: true, force: true });
  });

  it('an unknown placeholder names the template and the placeholder, with a hint', () => {
    expect(() => fillPlaceholders('a @@nope@@ b', {}, 'x/y.c')).toThrow(
      expect.objectContaining({
        code: 'TEMPLATE',
        message: 'template x/y.c has unknown placeholder @@nope@@',
        hint: expect.stringContaining('bug'),
      }),
    );
    expect(fillPlaceholders('@@a@@-@@a@@', { a: '1' }, 'w')).toBe('1-1');
  });
});

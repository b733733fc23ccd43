/**
 * The module loop on the real httpd and the real compilers: for every
 * template and language, new -> build -> install into a sandbox on a free
 * port -> start -> GET the module's URL.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, get, tmpDir } from '../helpers.js';

/** Every <Location> of a 2.4 install ends with these unless --public: this machine only (issue #17 item 10). */
const LOCAL_ONLY = `\n    <IfModule authz_host_module>\n        Require local\n    </IfModule>\n    <IfModule !authz_host_module>\n        Require expr "-R '127.0.0.0/8' || -R '::1'"\n    </IfModule>`;

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

const CASES = [
  { template: 'hello', cpp: false },
  { template: 'hello', cpp: true },
  { template: 'handler', cpp: false },
  { template: 'handler', cpp: true },
  { template: 'info', cpp: false },
  { template: 'info', cpp: true },
] as const;

describe.each(CASES)('template $template, C++: $cpp', ({ template, cpp }) => {
  it('scaffolds, builds, installs into a sandbox and answers its URL', async () => {
    const work = await tmpDir();
    const port = await freePort();
    const name = `${template}${cpp ? 'cc' : 'c'}`;
    const sr = path.join(work, 'srv');

    const created = await cli(['sandbox', 'create', sr, '--port', String(port), '--json'], {
      cwd: work,
    });
    expect(created.code, created.stderr).toBe(0);
    expect(created.json.port).toBe(port);

    const scaffolded = await cli(
      ['new', name, '--template', template, ...(cpp ? ['--cpp'] : []), '--json'],
      { cwd: work },
    );
    expect(scaffolded.code, scaffolded.stderr).toBe(0);
    const dir = path.join(work, `mod_${name}`);
    const makefile = await fs.readFile(path.join(dir, 'Makefile'), 'utf8');
    expect(makefile).toMatch(/^\t\$\((CC|CXX)\) /m); // recipe lines are real tabs
    expect(await fs.readFile(path.join(dir, 'README.md'), 'utf8')).toContain(`/${name}`);

    const built = await cli(['build', '--json'], { cwd: dir });
    expect(built.code, built.stderr).toBe(0);
    expect(built.json.upToDate).toBe(false);
    expect(built.json.linkedWith).toMatch(cpp ? /(g|c)\+\+$/ : /(gcc|cc|clang)$/);
    const again = await cli(['build', '--json'], { cwd: dir });
    expect(again.json.upToDate).toBe(true);

    // apxs-ts.json written by `sandbox create` in work/ is found upward from the module dir.
    const installed = await cli(['install', '--json'], { cwd: dir });
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.json.serverRoot).toBe(sr);
    const conf = await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8');
    expect(conf).toContain(`LoadModule ${name}_module modules/mod_${name}.so`);
    if (template !== 'hello')
      expect(conf).toContain(
        `<Location /${name}>\n    SetHandler ${name}${LOCAL_ONLY}\n</Location>`,
      );
    if (template === 'handler')
      await fs.appendFile(path.join(sr, 'conf', 'httpd.conf'), `LogLevel warn ${name}:debug\n`);

    const start = await cli(['ctl', 'start', '--json'], { cwd: dir });
    expect(start.code, start.stderr + start.stdout).toBe(0);
    started.push(sr);
    expect(start.json.health.status).toBeLessThan(500);

    const url = `http://127.0.0.1:${port}/${name}`;
    const res = await get(url, { 'X-Apxs-Test': '42' });
    expect(res.status).toBe(200);
    if (template === 'hello') {
      expect(res.body).toBe(`Hello from mod_${name}${cpp ? ' (C++)' : ''}\n`);
      // hello answers every request, not just its own URL.
      expect((await get(`http://127.0.0.1:${port}/anything/else`)).body).toContain(
        `Hello from mod_${name}`,
      );
    } else if (template === 'handler') {
      expect(res.body).toContain(`<dt>handler</dt><dd>${name}</dd>`);
      expect(res.body).toContain(`<dt>the_request</dt><dd>GET /${name} HTTP/1.1</dd>`);
      expect(res.body).toContain(`<dt>hostname</dt><dd>127.0.0.1</dd>`);
      expect(res.body).toContain('<dt>header_only</dt><dd>0</dd>');
      // Elsewhere it declines, and says so at debug level.
      await get(`http://127.0.0.1:${port}/index.html`);
      await new Promise((r) => setTimeout(r, 100));
      expect(await fs.readFile(path.join(sr, 'logs', 'error_log'), 'utf8')).toMatch(
        /handling declined: text\/html/,
      );
    } else {
      // fetch sends header names in lower case; httpd keeps them as sent.
      expect(res.body).toMatch(/<tr><th>x-apxs-test<\/th><td>42<\/td><\/tr>/i);
      expect(res.body).toMatch(
        new RegExp(`<tr><th>host</th><td>127\\.0\\.0\\.1:${port}</td></tr>`, 'i'),
      );
    }

    const stop = await cli(['ctl', 'stop'], { cwd: dir });
    expect(stop.code, stop.stderr).toBe(0);
    started.splice(started.indexOf(sr), 1);
  });
});

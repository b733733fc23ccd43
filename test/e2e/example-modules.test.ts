/**
 * httpd's own example modules (modules/examples/ of the 2.4.68 release,
 * taken from the shared mirror's tarball at test time, never copied into
 * this project): each builds with `apxs-ts build`, installs into a sandbox
 * with the <Location> its source registers, and works.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_MIRROR, cli, get, newSandbox } from '../helpers.js';

const TARBALL = path.join(SHARED_MIRROR, 'httpd', 'httpd-2.4.68.tar.gz');
const EXAMPLES = 'httpd-2.4.68/modules/examples';
const MODULES = ['example_hooks', 'example_ipc', 'case_filter', 'case_filter_in'] as const;

/** Every <Location> of a 2.4 install ends with these unless --public: this machine only (issue #17 item 10). */
const LOCAL_ONLY = `\n    <IfModule authz_host_module>\n        Require local\n    </IfModule>\n    <IfModule !authz_host_module>\n        Require expr "-R '127.0.0.0/8' || -R '::1'"\n    </IfModule>`;
/** The <Location> block install must write for each, as its source (and its own comments) say. */
const LOCATIONS: Record<(typeof MODULES)[number], string> = {
  example_hooks: `<Location /example_hooks>\n    SetHandler example-hooks-handler${LOCAL_ONLY}\n</Location>`,
  example_ipc: `<Location /example_ipc>\n    SetHandler example_ipc${LOCAL_ONLY}\n</Location>`,
  case_filter: `<Location /case_filter>\n    SetOutputFilter CaseFilter${LOCAL_ONLY}\n</Location>`,
  case_filter_in: `<Location /case_filter_in>\n    SetInputFilter CaseFilterIn${LOCAL_ONLY}\n</Location>`,
};

function post(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let work: string;
let sr: string;
let port: number;
let running = false;

beforeAll(async () => {
  ({ work, sr, port } = await newSandbox());
  execFileSync('tar', ['-xzf', TARBALL, '-C', work, `${EXAMPLES}/`], { stdio: 'pipe' });
}, 60_000);

afterAll(async () => {
  if (running) await cli(['ctl', 'stop', '--server-root', sr]);
});

describe("httpd 2.4.68's example modules", () => {
  it('are single C files (one module directory each)', async () => {
    const sources = (await fs.readdir(path.join(work, EXAMPLES)))
      .filter((f) => f.endsWith('.c'))
      .sort();
    expect(sources).toEqual(MODULES.map((m) => `mod_${m}.c`).sort());
  });

  it.each(MODULES)(
    'mod_%s builds with apxs-ts build and installs with the <Location> it registers',
    async (m) => {
      const dir = path.join(work, `mod_${m}`);
      await fs.mkdir(dir, { mode: 0o755 });
      await fs.copyFile(path.join(work, EXAMPLES, `mod_${m}.c`), path.join(dir, `mod_${m}.c`));
      const built = await cli(['build', dir, '--server-root', sr, '--json']);
      expect(built.code, built.stderr + built.stdout).toBe(0);
      const installed = await cli(['install', dir, '--server-root', sr, '--json']);
      expect(installed.code, installed.stderr + installed.stdout).toBe(0);
      const conf = await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8');
      expect(conf).toContain(
        `# BEGIN apxs-ts module ${m}\nLoadModule ${m}_module modules/mod_${m}.so\n${LOCATIONS[m]}\n# END apxs-ts module ${m}\n`,
      );
      // The .so build made is the one installed: install did not build again.
      expect(installed.json.so).toMatchObject({
        so: path.join(dir, `mod_${m}.so`),
        madeBy: 'apxs-ts build',
        built: false,
      });
    },
  );

  it('and work: the hooks page, the IPC page, a served file upper-cased, a request body upper-cased', async () => {
    // The input filter's effect shows in a body echoed back: httpd's mod_reflector answers with the request body.
    await fs.mkdir(path.join(sr, 'htdocs', 'case_filter'), { recursive: true, mode: 0o755 });
    await fs.writeFile(
      path.join(sr, 'htdocs', 'case_filter', 'page.txt'),
      'Served as written, shouted by CaseFilter.\n',
      { mode: 0o644 },
    );
    const { systemModulesDir } = JSON.parse(
      await fs.readFile(path.join(sr, 'apxs-ts-sandbox.json'), 'utf8'),
    ) as { systemModulesDir: string };
    await fs.appendFile(
      path.join(sr, 'conf', 'httpd.conf'),
      [
        `LoadModule reflector_module ${path.join(systemModulesDir, 'mod_reflector.so')}`,
        '<Location /case_filter_in/echo>',
        '    SetHandler reflector',
        '</Location>',
        '<Location /echo>',
        '    SetHandler reflector',
        '</Location>',
        '',
      ].join('\n'),
    );
    const start = await cli(['ctl', 'start', '--server-root', sr, '--json']);
    expect(start.code, start.stderr + start.stdout).toBe(0);
    running = true;
    const base = `http://127.0.0.1:${port}`;

    const hooks = await get(`${base}/example_hooks`);
    expect(hooks.status).toBe(200);
    expect(hooks.body).toContain('<SAMP>mod_example_hooks</SAMP> Module Content-Handler Output');
    expect(hooks.body).toContain('x_handler()');

    const ipc = await get(`${base}/example_ipc`);
    expect(ipc.status).toBe(200);
    expect(ipc.body).toContain('<h1>Mod_example_IPC Status</h1>');
    expect(ipc.body).toMatch(/<tr><td>Counter:<\/td><td>\d+<\/td><\/tr>/);

    const page = await get(`${base}/case_filter/page.txt`);
    expect(page).toEqual({ status: 200, body: 'SERVED AS WRITTEN, SHOUTED BY CASEFILTER.\n' });

    const echoed = await post(`${base}/case_filter_in/echo`, 'a quiet request body');
    expect(echoed).toEqual({ status: 200, body: 'A QUIET REQUEST BODY' });
    // The same reflector outside the filter's Location echoes it as sent: the upper case is CaseFilterIn's.
    expect(await post(`${base}/echo`, 'a quiet request body')).toEqual({
      status: 200,
      body: 'a quiet request body',
    });

    const stop = await cli(['ctl', 'stop', '--server-root', sr]);
    expect(stop.code, stop.stderr).toBe(0);
    running = false;
  });
});

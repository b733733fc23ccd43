/**
 * source deletes only what it owns: tarballs in its cache that fail a
 * checksum or signature that IS published, and its own .part files. A file
 * the user points `verify` at, or a cached copy that this run is merely
 * stricter about, stays byte for byte. The release is served over loopback
 * HTTP from temp dirs (copies of ../shared/mirror/httpd).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_MIRROR, cli, snapshot, tmpDir } from '../helpers.js';

const REL = path.join(SHARED_MIRROR, 'httpd');
const NAME = 'httpd-2.4.68.tar.gz';
const KEYS = path.join(REL, 'KEYS');
/** Holds only the test keys of the old releases: not the 2.4.68 signer. */
const OTHER_KEYS = path.join(SHARED_MIRROR, '..', 'archive', 'httpd', 'KEYS');
let tgz: Buffer;

interface Site {
  url: string;
  /** The directory served; changed between cases. */
  dir: string;
  gets: string[];
  close: () => Promise<void>;
}

/** Serves whatever is in site.dir at request time, with an autoindex-like listing. */
async function serveDir(dir: string): Promise<Site> {
  const site = { dir, gets: [] as string[] } as Site;
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(
      /^\/dist\/httpd\//,
      '',
    );
    site.gets.push(p);
    void (async () => {
      if (p === '') {
        const names = await fs.readdir(site.dir);
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(names.map((f) => `<a href="${f}">${f}</a>`).join('\n'));
        return;
      }
      const body = await fs.readFile(path.join(site.dir, path.basename(p))).catch(() => undefined);
      if (body === undefined) res.writeHead(404).end('not found');
      else res.writeHead(200, { 'content-length': body.length }).end(body);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  site.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dist/httpd/`;
  site.close = () => new Promise((r) => server.close(() => r()));
  return site;
}

const sha = (algo: string, b: Buffer | string) => createHash(algo).update(b).digest('hex');

/** A release directory: the tarball and, unless left out, .sha512, .sha256 and .asc as shipped. */
async function releaseDir(
  opts: { tarball?: Buffer; without?: string[]; sha512?: string } = {},
): Promise<string> {
  const dir = await tmpDir();
  const tarball = opts.tarball ?? tgz;
  const files: Record<string, Buffer | string> = {
    [NAME]: tarball,
    [`${NAME}.sha512`]: opts.sha512 ?? `${sha('sha512', tarball)} *${NAME}\n`,
    [`${NAME}.sha256`]: `${sha('sha256', tarball)} *${NAME}\n`,
    [`${NAME}.asc`]: await fs.readFile(path.join(REL, `${NAME}.asc`)),
  };
  for (const [f, body] of Object.entries(files))
    if (!opts.without?.includes(f.slice(NAME.length) || 'tarball'))
      await fs.writeFile(path.join(dir, f), body);
  return dir;
}

const sites: Site[] = [];
beforeAll(async () => {
  tgz = await fs.readFile(path.join(REL, NAME));
});
afterAll(async () => {
  for (const s of sites) await s.close();
});

describe('source verify FILE never deletes a file outside its cache', () => {
  it('keeps the file through every failure: wrong checksum, KEYS without the signer, no .asc, a bad signature (beside the file or on the mirror)', async () => {
    const tampered = Buffer.concat([tgz, Buffer.from('tampered')]);
    const wrongSha512 = `${sha('sha512', 'not the tarball')} *${NAME}\n`;
    const alone = ['.sha512', '.sha256', '.asc'];
    // Each case: the user's directory (and how many files it holds), what the mirror serves ('same': that
    // directory itself, as when a release directory is checked in place), the KEYS, the code expected.
    const cases: {
      name: string;
      user: string;
      files: number;
      mirror: 'same' | string;
      keys: string;
      code: string;
    }[] = [
      {
        name: 'wrong .sha512 beside the file',
        user: await releaseDir({ sha512: wrongSha512 }),
        files: 4,
        mirror: 'same',
        keys: KEYS,
        code: 'CHECKSUM_MISMATCH',
      },
      {
        name: '--keys lacks the signer',
        user: await releaseDir(),
        files: 4,
        mirror: 'same',
        keys: OTHER_KEYS,
        code: 'BAD_SIGNATURE',
      },
      {
        name: 'no .asc beside the file',
        user: await releaseDir({ without: ['.asc'] }),
        files: 3,
        mirror: 'same',
        keys: KEYS,
        code: 'NO_SIGNATURE',
      },
      {
        name: 'the signature does not match the file',
        user: await releaseDir({ tarball: tampered }),
        files: 4,
        mirror: 'same',
        keys: KEYS,
        code: 'BAD_SIGNATURE',
      },
      {
        name: 'wrong .sha512 on the mirror, nothing beside',
        user: await releaseDir({ without: alone }),
        files: 1,
        mirror: await releaseDir({ sha512: wrongSha512 }),
        keys: KEYS,
        code: 'CHECKSUM_MISMATCH',
      },
      {
        name: 'no .asc on the mirror, nothing beside',
        user: await releaseDir({ without: alone }),
        files: 1,
        mirror: await releaseDir({ without: ['.asc'] }),
        keys: KEYS,
        code: 'NO_SIGNATURE',
      },
      {
        name: '--keys lacks the signer, mirror files',
        user: await releaseDir({ without: alone }),
        files: 1,
        mirror: await releaseDir(),
        keys: OTHER_KEYS,
        code: 'BAD_SIGNATURE',
      },
    ];
    const site = await serveDir(cases[0]!.user);
    sites.push(site);
    const cache = await tmpDir();
    const seen = [];
    for (const c of cases) {
      site.dir = c.mirror === 'same' ? c.user : c.mirror;
      const before = await snapshot(c.user);
      const r = await cli([
        'source',
        'verify',
        path.join(c.user, NAME),
        '--mirror',
        site.url,
        '--keys',
        c.keys,
        '--cache-dir',
        cache,
        '--json',
      ]);
      const after = await snapshot(c.user);
      seen.push({
        name: c.name,
        code: r.json?.error?.code ?? `exit ${r.code}`,
        exit: r.code,
        files: `${Object.keys(before).length} -> ${Object.keys(after).length}`,
        unchanged: JSON.stringify(after) === JSON.stringify(before),
      });
    }
    expect(seen).toEqual(
      cases.map((c) => ({
        name: c.name,
        code: c.code,
        exit: 1,
        files: `${c.files} -> ${c.files}`,
        unchanged: true,
      })),
    );
    expect(await fs.readdir(cache)).toEqual([]);
  });

  it('reads the checksum and signature beside the file first, and asks the mirror only when there are none', async () => {
    // Beside: a .sha512 that does not match. Mirror: a correct release. Beside wins.
    const good = await releaseDir();
    const site = await serveDir(good);
    sites.push(site);
    const user = await releaseDir({ sha512: `${sha('sha512', 'x')} *${NAME}\n` });
    const r = await cli([
      'source',
      'verify',
      path.join(user, NAME),
      '--mirror',
      site.url,
      '--keys',
      KEYS,
      '--json',
    ]);
    expect([r.code, r.json.error?.code]).toEqual([1, 'CHECKSUM_MISMATCH']);
    expect(r.json.error.message).toContain('beside it says');
    // Beside: a correct release. Mirror: nothing listens there. No network is needed.
    const closed = await serveDir(good);
    await closed.close();
    const ok = await cli([
      'source',
      'verify',
      path.join(good, NAME),
      '--mirror',
      closed.url,
      '--keys',
      KEYS,
      '--json',
    ]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.json).toMatchObject({
      checksum: { algorithm: 'sha512' },
      checkedAgainst: good,
      version: '2.4.68',
    });
    expect(ok.json.signer.userId).toContain('covener');
    // Nothing beside: the mirror is asked.
    const bare = await releaseDir({ without: ['.sha512', '.sha256', '.asc'] });
    site.gets.length = 0;
    const viaMirror = await cli([
      'source',
      'verify',
      path.join(bare, NAME),
      '--mirror',
      site.url,
      '--keys',
      KEYS,
      '--json',
    ]);
    expect(viaMirror.code, viaMirror.stdout).toBe(0);
    expect(viaMirror.json.checkedAgainst).toBe(`${site.url}${NAME}`);
    expect(site.gets).toContain(`${NAME}.sha512`);
  });
});

describe('the cache', () => {
  it('a tarball cached by an --insecure run is refused (NO_SIGNATURE) by a stricter run, and kept', async () => {
    const site = await serveDir(await releaseDir({ without: ['.asc'] }));
    sites.push(site);
    const cache = await tmpDir();
    const args = [
      'source',
      'download',
      '2.4.68',
      '--mirror',
      site.url,
      '--keys',
      KEYS,
      '--cache-dir',
      cache,
      '--json',
    ];
    const first = await cli([...args, '--insecure']);
    expect(first.code, first.stdout).toBe(0);
    expect(first.json.warnings).toContain(`no signature for ${NAME}: unverified (--insecure)`);
    const cached = await snapshot(cache);
    expect(Object.keys(cached)).toEqual([NAME]);
    const tarballGets = () => site.gets.filter((g) => g === NAME).length;
    const gets = tarballGets();

    const strict = await cli(args);
    expect([strict.code, strict.json.error.code]).toEqual([1, 'NO_SIGNATURE']);
    expect(strict.json.error.hint).toMatch(/--insecure/);
    expect(await snapshot(cache)).toEqual(cached);
    expect(tarballGets()).toBe(gets); // nothing downloaded to be refused

    const again = await cli([...args, '--insecure']);
    expect([again.code, again.json.fromCache]).toEqual([0, true]);
    expect(tarballGets()).toBe(gets);
  });

  it('a cached tarball signed by a key missing from --keys is kept (it is not proven bad), not deleted and fetched again', async () => {
    const site = await serveDir(await releaseDir());
    sites.push(site);
    const cache = await tmpDir();
    await fs.writeFile(path.join(cache, NAME), tgz);
    const r = await cli([
      'source',
      'download',
      '2.4.68',
      '--mirror',
      site.url,
      '--keys',
      OTHER_KEYS,
      '--cache-dir',
      cache,
      '--json',
    ]);
    expect([r.code, r.json.error.code]).toEqual([1, 'BAD_SIGNATURE']);
    expect(r.json.error.message).toMatch(/not in KEYS/);
    expect((await fs.readFile(path.join(cache, NAME))).equals(tgz)).toBe(true);
    expect(site.gets).not.toContain(NAME);
  });

  it('a cached tarball that fails the published checksum is deleted and downloaded again', async () => {
    const site = await serveDir(await releaseDir());
    sites.push(site);
    const cache = await tmpDir();
    await fs.writeFile(path.join(cache, NAME), tgz.subarray(0, 1000));
    const r = await cli([
      'source',
      'download',
      '2.4.68',
      '--mirror',
      site.url,
      '--keys',
      KEYS,
      '--cache-dir',
      cache,
      '--json',
    ]);
    expect([r.code, r.json.fromCache]).toEqual([0, false]);
    expect((await fs.readFile(path.join(cache, NAME))).equals(tgz)).toBe(true);
    expect(site.gets.filter((g) => g === NAME)).toHaveLength(1);
  });
});

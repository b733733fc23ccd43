/** download and verify against a loopback HTTP server that misbehaves on purpose. */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, SHARED_MIRROR, cli, tmpDir } from '../helpers.js';

const REL = path.join(SHARED_MIRROR, 'httpd');
const NAME = 'httpd-2.4.68.tar.gz';
let tgz: Buffer;
let asc: string;
let keys: string;

interface Site {
  url: string;
  requests: { path: string; range: string | undefined }[];
  close: () => Promise<void>;
}

/**
 * Serves `files` with Range support; `dropAt` cuts the first response of the tarball after that
 * many bytes, once `beforeDrop` resolves (by default as soon as they are written).
 */
async function serve(
  files: Record<string, Buffer | string>,
  opts: {
    dropAt?: number;
    beforeDrop?: () => Promise<void>;
    fail500?: number;
    missing?: string[];
  } = {},
): Promise<Site> {
  const requests: Site['requests'] = [];
  let dropped = false;
  let failures = 0;
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(
      /^\/dist\/httpd\//,
      '',
    );
    requests.push({ path: p, range: req.headers.range });
    if (p === NAME && opts.fail500 && failures < opts.fail500) {
      failures++;
      res.writeHead(503).end('busy');
      return;
    }
    if (p === '') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        Object.keys(files)
          .map((f) => `<a href="${f}">${f}</a>`)
          .join('\n'),
      );
      return;
    }
    const body = opts.missing?.includes(p) ? undefined : files[p];
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    const buf = Buffer.from(body);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, {
      'content-length': buf.length - start,
      ...(m ? { 'content-range': `bytes ${start}-${buf.length - 1}/${buf.length}` } : {}),
    });
    if (p === NAME && opts.dropAt !== undefined && !dropped) {
      dropped = true;
      res.write(buf.subarray(start, opts.dropAt), () => {
        const drop = () => res.socket?.destroy();
        (opts.beforeDrop?.() ?? Promise.resolve()).then(drop, drop);
      });
      return;
    }
    res.end(buf.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/dist/httpd/`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function releaseFiles(tarball: Buffer, signature = asc): Record<string, Buffer | string> {
  return {
    [NAME]: tarball,
    [`${NAME}.sha512`]: `${createHash('sha512').update(tarball).digest('hex')} *${NAME}\n`,
    [`${NAME}.sha256`]: `${createHash('sha256').update(tarball).digest('hex')} *${NAME}\n`,
    [`${NAME}.asc`]: signature,
  };
}

const sites: Site[] = [];
beforeAll(async () => {
  tgz = await fs.readFile(path.join(REL, NAME));
  asc = await fs.readFile(path.join(REL, `${NAME}.asc`), 'utf8');
  keys = path.join(REL, 'KEYS');
});
afterAll(async () => {
  for (const s of sites) await s.close();
});

async function download(site: Site, ...extra: string[]) {
  return downloadInto(await tmpDir(), site, ...extra);
}

async function downloadInto(cache: string, site: Site, ...extra: string[]) {
  const r = await cli([
    'source',
    'download',
    '2.4.68',
    '--mirror',
    site.url,
    '--keys',
    keys,
    '--cache-dir',
    cache,
    '--json',
    ...extra,
  ]);
  return { ...r, cache };
}

describe('source download and verify', () => {
  it('downloads, checks sha512 and the signature, and names the signer', async () => {
    const site = await serve(releaseFiles(tgz));
    sites.push(site);
    const list = await cli(['source', 'list', '--mirror', site.url]);
    expect(list.stdout).toBe('2.4: 2.4.68\n');
    const r = await download(site);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.checksum.algorithm).toBe('sha512');
    expect(r.json.signer.fingerprint).toBe('65B2 D44F E74B D5E3 DE3A C3F0 8278 1DE4 6D59 54FA');
    expect((await fs.readFile(path.join(r.cache, NAME))).equals(tgz)).toBe(true);
    // A second run reuses the cache, verified again, without downloading.
    const before = site.requests.filter((q) => q.path === NAME).length;
    const again = await cli([
      'source',
      'download',
      '2.4',
      '--mirror',
      site.url,
      '--keys',
      keys,
      '--cache-dir',
      r.cache,
      '--json',
    ]);
    expect(again.json.fromCache).toBe(true);
    expect(site.requests.filter((q) => q.path === NAME).length).toBe(before);
  });

  it('a tarball with one flipped byte: CHECKSUM_MISMATCH and the file is deleted', async () => {
    const bad = Buffer.from(tgz);
    bad[bad.length >> 1]! ^= 0x01;
    const files = { ...releaseFiles(tgz), [NAME]: bad };
    const site = await serve(files);
    sites.push(site);
    const r = await download(site);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('CHECKSUM_MISMATCH');
    expect(r.json.error.message).toMatch(/sha512 is .* the file was deleted/);
    expect(await fs.readdir(r.cache)).toEqual([]);
  });

  it('a valid checksum with a wrong signature: BAD_SIGNATURE and the file is deleted', async () => {
    const other = Buffer.concat([tgz, Buffer.from('tampered')]);
    const site = await serve(releaseFiles(other)); // checksums match the tampered file; the .asc is the real one
    sites.push(site);
    const r = await download(site);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('BAD_SIGNATURE');
    expect(r.json.error.message).toContain('does not match the file');
    expect(await fs.readdir(r.cache)).toEqual([]);
  });

  it('a 404 is a clear error naming the URL', async () => {
    const site = await serve(releaseFiles(tgz), { missing: [NAME] }); // listed, but 404 when fetched
    sites.push(site);
    const r = await download(site);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('DOWNLOAD_FAILED');
    expect(r.json.error.message).toBe(`not found (HTTP 404): ${site.url}${NAME}`);
    expect(site.requests.filter((q) => q.path === NAME)).toHaveLength(1); // a 404 is not retried
    expect(await fs.readdir(r.cache)).toEqual([]);
    const unknown = await cli([
      'source',
      'download',
      '2.4.69',
      '--mirror',
      site.url,
      '--keys',
      keys,
      '--cache-dir',
      r.cache,
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no httpd release 2.4.69 on the mirror');
    expect(unknown.stderr).toContain('hint: it has 2.4.68');
  });

  it('retries 5xx answers with backoff', async () => {
    const site = await serve(releaseFiles(tgz), { fail500: 2 });
    sites.push(site);
    const r = await download(site);
    expect(r.code, r.stdout).toBe(0);
    expect(site.requests.filter((q) => q.path === NAME)).toHaveLength(3);
  });

  it('a server that drops the connection mid-file: the download resumes with Range and verifies', async () => {
    // The cut waits for the bytes sent to reach the .part: a drop while they are still in the
    // client's buffers loses them (undici destroys the body), and under load the resume would
    // then rightly start from 0.
    const cache = await tmpDir();
    const part = path.join(cache, `${NAME}.part`);
    const onDisk = async () => {
      for (let i = 0; i < 600; i++) {
        const size = await fs.stat(part).then(
          (st) => st.size,
          () => 0,
        );
        if (size >= 3_000_000) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const site = await serve(releaseFiles(tgz), {
      dropAt: 3_000_000,
      beforeDrop: onDisk,
      fail500: 1,
    });
    sites.push(site);
    const r = await downloadInto(cache, site);
    expect(r.code, r.stdout).toBe(0);
    const gets = site.requests.filter((q) => q.path === NAME);
    // 503, then a body cut after 3,000,000 bytes, then a Range request from what reached the disk.
    expect(gets.map((g) => g.range?.replace(/\d+/, 'N'))).toEqual([
      undefined,
      undefined,
      'bytes=N-',
    ]);
    const from = Number(/bytes=(\d+)-/.exec(gets[2]!.range!)![1]);
    expect(from).toBe(3_000_000);
    expect((await fs.readFile(path.join(r.cache, NAME))).equals(tgz)).toBe(true);
    expect(r.json.signer.userId).toContain('covener');
  });

  it('shows progress on a terminal, and plain lines on one that reports no width, then exits', async () => {
    const site = await serve(releaseFiles(tgz));
    sites.push(site);
    const env = { ...process.env, APXS_TS_HOSTS_FILE: '/nonexistent' } as Record<string, string>;
    delete env.CI;
    const run = async (stty: string) => {
      const cache = await tmpDir();
      const cmd = `${stty} ${process.execPath} ${CLI} source download 2.4.68 --mirror ${site.url} --keys ${keys} --cache-dir ${cache}; echo EXIT=$?`;
      // Asynchronous: the loopback server lives in this process and must keep answering.
      return new Promise<string>((resolve, reject) => {
        const child = execFile(
          'script',
          ['-qec', cmd, '/dev/null'],
          { env, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 },
          (err, out) => (err ? reject(err) : resolve(out)),
        );
        child.stdin?.end();
      });
    };
    const sized = await run('stty cols 100 rows 40;');
    expect(sized).toContain('\x1b[?25l'); // ora hid the cursor: a live spinner
    expect(sized).toMatch(/download [\d.]+\/10\.1 MB at [\d.]+ MB\/s/);
    expect(sized).toContain('EXIT=0');
    expect(sized.length).toBeLessThan(20_000);
    const widthless = await run('');
    expect(widthless).not.toContain('\x1b[?25l');
    expect(widthless).toMatch(/download 10\.1\/10\.1 MB at [\d.]+ MB\/s/);
    expect(widthless).toContain('EXIT=0');
    expect(widthless.length).toBeLessThan(20_000);
  });
});

describe('what the release lacks, and checksum files for another file', () => {
  it('no .asc is NO_SIGNATURE, no checksum is NO_CHECKSUM: refused before the tarball is fetched', async () => {
    for (const [missing, code] of [
      [['.asc'], 'NO_SIGNATURE'],
      [['.sha512', '.sha256'], 'NO_CHECKSUM'],
    ] as const) {
      const site = await serve(releaseFiles(tgz), { missing: missing.map((m) => `${NAME}${m}`) });
      sites.push(site);
      const r = await download(site);
      expect([r.code, r.json.error.code], missing.join()).toEqual([1, code]);
      expect(r.json.error.hint).toMatch(/--insecure/);
      expect(site.requests.filter((q) => q.path === NAME)).toHaveLength(0);
      expect(await fs.readdir(r.cache)).toEqual([]);
    }
  });

  it('a .sha512 whose line names another release is refused, even when its hash is right', async () => {
    const hex = createHash('sha512').update(tgz).digest('hex');
    const site = await serve({
      ...releaseFiles(tgz),
      [`${NAME}.sha512`]: `${hex} *httpd-2.4.67.tar.gz\n`,
    });
    sites.push(site);
    const r = await download(site);
    expect([r.code, r.json.error.code]).toEqual([1, 'CHECKSUM_MISMATCH']);
    expect(r.json.error.message).toBe(
      `the sha512 checksum file names httpd-2.4.67.tar.gz, not ${NAME}`,
    );
    expect(site.requests.filter((q) => q.path === NAME)).toHaveLength(0);
  });
});

/** Runs the CLI as an unprivileged user when the tests run as root (root writes anywhere), as itself otherwise. */
function cliUnprivileged(args: string[]): Promise<{ code: number; json: any; ms: number }> {
  const started = Date.now();
  const as: ExecFileOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        ...as,
        cwd: ROOT,
        env: { ...process.env, CI: 'true', HOME: '/nonexistent' },
        encoding: 'utf8',
      },
      (err, stdout) => {
        let json: any;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          json,
          ms: Date.now() - started,
        });
      },
    );
  });
}

describe('rejected before the first request', () => {
  it('a cache dir that cannot be written: PERMISSION_DENIED at once; a file as the cache dir: BAD_INPUT, exit 2', async () => {
    const site = await serve(releaseFiles(tgz));
    sites.push(site);
    const base = await tmpDir();
    const locked = path.join(base, 'locked');
    await fs.mkdir(locked, { mode: 0o555 });
    await fs.chmod(locked, 0o555);
    // The cache dir itself (it exists, as the default one does), and one to be made inside it.
    for (const cache of [locked, path.join(locked, 'cache')]) {
      const unwritable = await cliUnprivileged([
        'source',
        'download',
        '2.4.68',
        '--mirror',
        site.url,
        '--keys',
        keys,
        '--cache-dir',
        cache,
        '--json',
      ]);
      expect([unwritable.code, unwritable.json?.error?.code], cache).toEqual([
        1,
        'PERMISSION_DENIED',
      ]);
      expect(unwritable.json.error.message).toContain(cache);
      expect(unwritable.json.error.hint).toMatch(/--cache-dir/);
      expect(unwritable.ms).toBeLessThan(3000); // not after ~6 s of retries
    }
    expect(site.requests).toEqual([]); // refused before the listing, not when the first write fails
    await fs.writeFile(path.join(base, 'a-file'), 'x');
    for (const cache of [path.join(base, 'a-file'), path.join(base, 'a-file', 'cache')]) {
      for (const cmd of [
        ['download', '2.4.68'],
        ['build', '2.4.68', '--prefix', path.join(base, 'prefix'), '--dry-run'],
      ]) {
        const r = await cli([
          'source',
          ...cmd,
          '--mirror',
          site.url,
          '--keys',
          keys,
          '--cache-dir',
          cache,
          '--json',
        ]);
        expect([r.code, r.json?.error?.code], `${cmd[0]} --cache-dir ${cache}`).toEqual([
          2,
          'BAD_INPUT',
        ]);
        expect(r.json.error.message).toContain(path.join(base, 'a-file'));
      }
    }
    expect(site.requests).toEqual([]);
    expect((await fs.readdir(base)).sort()).toEqual(['a-file', 'locked']);
  });

  it('an unknown or ill-formed version exits 2 and points at source list', async () => {
    const site = await serve(releaseFiles(tgz));
    sites.push(site);
    const base = await tmpDir();
    const runs = [
      ['download', '2.4.999'],
      ['download', 'x.y'],
      ['build', '9.9.9', '--prefix', path.join(base, 'p'), '--dry-run'],
      ['build', '9.9.9', '--prefix', path.join(base, 'p')],
      ['verify', '2.4.999'],
    ];
    for (const args of runs) {
      const r = await cli([
        'source',
        ...args,
        '--mirror',
        site.url,
        '--keys',
        keys,
        '--cache-dir',
        path.join(base, 'cache'),
        '--json',
      ]);
      expect(
        [r.code, ['BAD_INPUT', 'USAGE'].includes(r.json?.error?.code)],
        args.join(' '),
      ).toEqual([2, true]);
      expect(r.json.error.hint, args.join(' ')).toContain('apxs-ts source list');
    }
    expect(site.requests.filter((q) => q.path === NAME)).toHaveLength(0);
  });

  it('a prefix of /, a file, or a directory of other things is refused (exit 2), dry run or not; an httpd prefix is not', async () => {
    const site = await serve(releaseFiles(tgz));
    sites.push(site);
    const base = await tmpDir();
    await fs.writeFile(path.join(base, 'a-file'), 'x');
    await fs.mkdir(path.join(base, 'home', 'docs'), { recursive: true });
    await fs.writeFile(path.join(base, 'home', 'notes.txt'), 'mine');
    await fs.mkdir(path.join(base, 'old-httpd', 'bin'), { recursive: true });
    await fs.writeFile(path.join(base, 'old-httpd', 'bin', 'httpd'), '');
    const build = (prefix: string, ...extra: string[]) =>
      cli([
        'source',
        'build',
        '2.4.68',
        '--prefix',
        prefix,
        '--mirror',
        site.url,
        '--keys',
        keys,
        '--cache-dir',
        path.join(base, 'cache'),
        '--json',
        ...extra,
      ]);
    for (const prefix of ['/', path.join(base, 'a-file'), path.join(base, 'home')]) {
      for (const extra of [['--dry-run'], []]) {
        const r = await build(prefix, ...extra);
        expect([r.code, r.json?.error?.code], `${prefix} ${extra.join(' ')}`).toEqual([
          2,
          'BAD_INPUT',
        ]);
        expect(r.json.error.message).toContain(`--prefix ${prefix}`);
      }
    }
    expect(site.requests).toEqual([]);
    for (const prefix of [path.join(base, 'old-httpd'), path.join(base, 'new')]) {
      const r = await build(prefix, '--dry-run');
      expect(r.code, r.stdout).toBe(0);
      expect(r.json.prefix).toBe(prefix);
    }
    expect(await fs.readFile(path.join(base, 'home', 'notes.txt'), 'utf8')).toBe('mine');
  });
});

/**
 * The hosts file through the built CLI when the file is not what we expect:
 * broken marker blocks, a BOM before our block, and file systems that refuse
 * (directory, missing directory, read-only, full). Nothing is ever written
 * then, and the error names the path. Build first: npx tsc -p tsconfig.json.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI as CLI_JS, cli, hostsFile, snapshot, tmpDir } from '../helpers.js';

const USER_TAIL =
  '# my router, do not touch\n192.168.1.1 router.lan\n# the printer\n10.0.0.9 printer.lan\n';

const BROKEN: [string, string, number][] = [
  ['a BEGIN without END', `127.0.0.1 localhost\n# BEGIN apxs-ts\n${USER_TAIL}`, 2],
  [
    'two BEGINs',
    `# BEGIN apxs-ts\n127.0.0.1 old.dd\n# BEGIN apxs-ts\n${USER_TAIL}# END apxs-ts\n`,
    3,
  ],
  [
    'END before BEGIN',
    `127.0.0.1 localhost\n# END apxs-ts\n${USER_TAIL}# BEGIN apxs-ts\n127.0.0.1 old.dd\n# END apxs-ts\n`,
    2,
  ],
  [
    'nested blocks',
    `# BEGIN apxs-ts\n127.0.0.1 old.dd\n# BEGIN apxs-ts\n${USER_TAIL}# END apxs-ts\n# END apxs-ts\n`,
    3,
  ],
  [
    'an END naming another block',
    `127.0.0.1 localhost\n# BEGIN apxs-ts\n127.0.0.1 old.dd\n# END apxs-ts vhosts\n${USER_TAIL}`,
    4,
  ],
  [
    'a stray BEGIN, CRLF and a BOM',
    `\ufeff127.0.0.1 localhost\r\n# BEGIN apxs-ts\r\n${USER_TAIL.replace(/\n/g, '\r\n')}`,
    2,
  ],
];

describe('a broken marker block is an error, and nothing is written', () => {
  it.each(BROKEN)(
    '%s: add, remove, list and --dry-run all stop with BLOCK_BROKEN naming file and line',
    async (_what, content, line) => {
      const f = await hostsFile(content);
      const before = await snapshot(path.dirname(f));
      for (const args of [
        ['hosts', 'add', 'x.dd'],
        ['hosts', 'add', 'x.dd', '--dry-run'],
        ['hosts', 'remove', 'router.lan'],
        ['hosts', 'remove', 'old.dd'],
        ['hosts', 'list'],
      ]) {
        const r = await cli([...args, '--hosts-file', f, '--json']);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.json.error.code).toBe('BLOCK_BROKEN');
        expect(r.json.error.message).toMatch(
          new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}: `),
        );
        expect(r.json.error.hint).toMatch(/fix or remove the stray marker line/);
      }
      const human = await cli(['hosts', 'add', 'x.dd', '--hosts-file', f]);
      expect(human.stderr).toMatch(new RegExp(`^apxs-ts: error: .*hosts:${line}: `));
      expect(human.stderr).not.toMatch(/\n\s+at /);
      expect(await snapshot(path.dirname(f))).toEqual(before);
    },
  );

  it('the user lines below a stray BEGIN stay theirs once the marker is fixed', async () => {
    const f = await hostsFile(`127.0.0.1 localhost\n# BEGIN apxs-ts\n${USER_TAIL}`);
    expect((await cli(['hosts', 'add', 'x.dd', '--hosts-file', f])).code).toBe(1);
    await fs.writeFile(f, `127.0.0.1 localhost\n${USER_TAIL}`);
    expect((await cli(['hosts', 'add', 'x.dd', '--hosts-file', f])).code).toBe(0);
    const list = await cli(['hosts', 'list', '--hosts-file', f, '--json']);
    expect(
      list.json.entries
        .filter((e: { managed: boolean }) => e.managed)
        .map((e: { names: string[] }) => e.names),
    ).toEqual([['x.dd']]);
    expect(
      (await cli(['hosts', 'remove', 'router.lan', '--hosts-file', f, '--json'])).json.changed,
    ).toBe(false);
    expect(await fs.readFile(f, 'utf8')).toContain('192.168.1.1 router.lan');
  });
});

describe('a UTF-8 BOM before our block on the first line', () => {
  const WITH_BOM =
    '\ufeff# BEGIN apxs-ts\r\n127.0.0.1 a.dd\r\n# END apxs-ts\r\n127.0.0.1\tlocalhost # loop\r\n10.0.0.1 box';
  it('add updates that block in place (no second block), list marks it, remove gives back the bytes without it', async () => {
    const f = await hostsFile(WITH_BOM);
    expect((await cli(['hosts', 'add', 'b.dd', '--hosts-file', f])).code).toBe(0);
    const after = await fs.readFile(f, 'utf8');
    expect(after).toBe(
      '\ufeff# BEGIN apxs-ts\r\n127.0.0.1 a.dd b.dd\r\n# END apxs-ts\r\n127.0.0.1\tlocalhost # loop\r\n10.0.0.1 box',
    );
    expect(after.match(/# BEGIN apxs-ts/g)).toHaveLength(1);
    const list = await cli(['hosts', 'list', '--hosts-file', f, '--json']);
    expect(
      list.json.entries.map((e: { line: number; managed: boolean }) => [e.line, e.managed]),
    ).toEqual([
      [2, true],
      [4, false],
      [5, false],
    ]);
    expect((await cli(['hosts', 'remove', 'a.dd', 'b.dd', '--hosts-file', f])).code).toBe(0);
    expect(await fs.readFile(f)).toEqual(
      Buffer.from('\ufeff127.0.0.1\tlocalhost # loop\r\n10.0.0.1 box', 'utf8'),
    );
  });
});

/** Runs `script` as root in a mount namespace of its own, so the mounts vanish with it. */
function inMountNs(script: string): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('unshare', ['-m', 'sh', '-ec', script], {
      encoding: 'utf8',
      stdio: 'pipe',
      env: { ...process.env, CI: 'true' },
    });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number | null; stdout: string; stderr: string };
    return { status: err.status ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * The three mount tests need `unshare -m` and tmpfs/bind mounts (root, or a
 * container allowed to mount). Where that fails they are skipped, and say so
 * with the reason, so a green run without them is never taken for a run with them.
 */
const mountCheck = (() => {
  try {
    execFileSync(
      'unshare',
      [
        '-m',
        'sh',
        '-ec',
        'd=$(mktemp -d); mount -t tmpfs -o size=64k tmpfs "$d"; umount "$d"; rmdir "$d"',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { ok: true, why: '' };
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return { ok: false, why: (err.stderr?.toString().trim() || err.message).split('\n')[0]! };
  }
})();
const canMount = mountCheck.ok;
if (!canMount) {
  console.warn(
    `SKIPPED: 3 tests of test/reliability/hosts.test.ts (read-only bind mount, read-only file system, full file system): cannot mount a tmpfs here (unshare -m + mount -t tmpfs failed: ${mountCheck.why}). Run as root, or in a container allowed to mount, to run them.`,
  );
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const ORIGINAL = '127.0.0.1 localhost\n::1 localhost\n';

describe('file system errors name the path, say what to do, and change nothing', () => {
  const mounted: string[] = [];
  afterAll(async () => {
    for (const d of mounted)
      await fs.rm(d, { recursive: true, force: true }).catch(() => undefined);
  });

  it('a directory given as the hosts file is bad input (exit 2) for add, remove and list', async () => {
    const dir = await tmpDir('apxs-ts-rel-');
    await fs.mkdir(path.join(dir, 'hosts'));
    for (const args of [['add', 'x.dd'], ['remove', 'x.dd'], ['list']]) {
      const r = await cli(['hosts', ...args, '--hosts-file', path.join(dir, 'hosts'), '--json']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error.code).toBe('BAD_INPUT');
      expect(r.json.error.message).toContain(path.join(dir, 'hosts'));
      expect(r.json.error.message).toMatch(/is a directory/);
      expect(r.json.error.hint).toBeTruthy();
    }
    expect(await fs.readdir(dir)).toEqual(['hosts']);
    expect(await fs.readdir(path.join(dir, 'hosts'))).toEqual([]);
  });

  // A path the user named that does not exist: BAD_PATH, exit 2, as for every command (commands/paths.ts, test/e2e/exit-codes.test.ts).
  it('a hosts file in a directory that does not exist is BAD_PATH (exit 2) naming it, not an errno about the lock', async () => {
    const dir = await tmpDir('apxs-ts-rel-');
    for (const f of [path.join(dir, 'no', 'such', 'hosts'), path.join(dir, 'hosts')]) {
      for (const args of [['add', 'x.dd'], ['list']]) {
        const r = await cli(['hosts', ...args, '--hosts-file', f]);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(
          `apxs-ts: error: ${f} does not exist\nhint: pass --hosts-file PATH\n`,
        );
      }
    }
    const plainFile = path.join(dir, 'plain');
    await fs.writeFile(plainFile, 'x');
    const r = await cli([
      'hosts',
      'add',
      'x.dd',
      '--hosts-file',
      path.join(plainFile, 'hosts'),
      '--json',
    ]);
    expect([r.code, r.json.error.code]).toEqual([2, 'BAD_PATH']);
    expect(await fs.readdir(dir)).toEqual(['plain']);
  });

  it.skipIf(!canMount)(
    'a read-only bind mount of the hosts file is READ_ONLY naming it; no backup or temp is left',
    async () => {
      const dir = await tmpDir('apxs-ts-rel-');
      mounted.push(dir);
      const f = path.join(dir, 'hosts');
      await fs.writeFile(f, ORIGINAL);
      const before = await snapshot(dir);
      const r = inMountNs(
        `mount --bind ${q(f)} ${q(f)}; mount -o remount,bind,ro ${q(f)}; exec ${q(process.execPath)} ${q(CLI_JS)} hosts add x.dd --hosts-file ${q(f)} --json`,
      );
      expect(r.status, r.stderr).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out.error.code).toBe('READ_ONLY');
      expect(out.error.message).toBe(`${f} is on a read-only file system`);
      expect(out.error.hint).toMatch(/read-write/);
      expect(await snapshot(dir)).toEqual(before);
    },
  );

  it.skipIf(!canMount)(
    'a read-only file system holding the hosts file is READ_ONLY naming its directory',
    async () => {
      const dir = await tmpDir('apxs-ts-rel-');
      mounted.push(dir);
      const etc = path.join(dir, 'etc');
      await fs.mkdir(etc);
      const f = path.join(etc, 'hosts');
      await fs.writeFile(f, ORIGINAL);
      const before = await snapshot(dir);
      const r = inMountNs(
        `mount --bind ${q(etc)} ${q(etc)}; mount -o remount,bind,ro ${q(etc)}; exec ${q(process.execPath)} ${q(CLI_JS)} hosts add x.dd --hosts-file ${q(f)}`,
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        `apxs-ts: error: ${etc} is on a read-only file system\nhint: remount it read-write, or pass a path on a writable file system\n`,
      );
      expect(await snapshot(dir)).toEqual(before);
    },
  );

  it.skipIf(!canMount)(
    'a full file system is NO_SPACE, whichever write hits it first (lock, backup, new file); the file stays as it was',
    async () => {
      const dir = await tmpDir('apxs-ts-rel-');
      mounted.push(dir);
      // 40 KiB of hosts file = 10 pages; the lock takes 1, the backup 10, the new file 11.
      const big =
        Array.from({ length: 1400 }, (_, i) => `10.0.${i >> 8}.${i & 255} h${i}.lan`)
          .join('\n')
          .padEnd(40 * 1024 - 1, '#') + '\n';
      // Free pages left after the hosts file: none, room for the lock and half a backup, room for lock and backup only.
      for (const [free, failing] of [
        [0, 'lock'],
        [6, 'backup'],
        [12, 'new file'],
      ] as const) {
        const script = `
        m=${q(dir)}/fs; mkdir -p "$m"; mount -t tmpfs -o size=256k tmpfs "$m"
        printf '%s' ${q(big)} > "$m/hosts"
        avail=$(stat -f -c %a "$m"); bs=$(stat -f -c %S "$m")
        head -c $(( (avail - ${free}) * bs )) /dev/zero > "$m/filler" || true
        before=$(ls -a "$m" | tr '\\n' ' '); sum=$(sha256sum < "$m/hosts")
        set +e; out=$(${q(process.execPath)} ${q(CLI_JS)} hosts add x.dd --hosts-file "$m/hosts" --json); code=$?; set -e
        after=$(ls -a "$m" | tr '\\n' ' '); sum2=$(sha256sum < "$m/hosts")
        printf '%s\\n%s\\n%s\\n%s\\n' "$code" "$out" "$before|$after" "$sum|$sum2"`;
        const r = inMountNs(script);
        expect(r.status, r.stderr).toBe(0);
        const [code, out, listing, sums] = r.stdout.trim().split('\n');
        expect(code, `${failing}: ${out}`).toBe('1');
        const json = JSON.parse(out!);
        expect(json.error.code, failing).toBe('NO_SPACE');
        // The lock goes into the directory, the backup is named as the file it could not write, the new content into a temp beside the file.
        const where = { lock: '', backup: '/hosts.BAK', 'new file': '/hosts' }[failing];
        expect(
          json.error.message.replace(/\/hosts\.\d{8}T\d{6}Z(-\d+)?\.bak$/, '/hosts.BAK'),
          failing,
        ).toBe(`no space left on the device holding ${dir}/fs${where}`);
        expect(json.error.hint).toMatch(/free some space/);
        const [b, a] = listing!.split('|');
        expect(a, failing).toBe(b);
        const [s1, s2] = sums!.split('|');
        expect(s2).toBe(s1);
      }
    },
  );
});

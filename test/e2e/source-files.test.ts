/** Checksums, extraction and signatures on the real release files in ../shared, and gpg-made DSA signatures (moved from test/unit: they read ../shared and run gpg). */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseChecksum } from '../../lib/source/checksum.js';
import { extractTarball } from '../../lib/source/extract.js';
import { verifySignature } from '../../lib/source/signature.js';
import { SHARED_MIRROR, tmpDir } from '../helpers.js';

describe('the shipped checksum files', () => {
  it('reads the shipped .sha512 and .sha256', async () => {
    const tgz = await fs.readFile(path.join(SHARED_MIRROR, 'httpd', 'httpd-2.4.68.tar.gz'));
    for (const a of ['sha512', 'sha256'] as const) {
      const text = await fs.readFile(
        path.join(SHARED_MIRROR, 'httpd', `httpd-2.4.68.tar.gz.${a}`),
        'utf8',
      );
      expect(parseChecksum(text, a, 'httpd-2.4.68.tar.gz')).toBe(
        createHash(a).update(tgz).digest('hex'),
      );
    }
  });
  it("reads the archive's md5 (BSD style and coreutils) and sha1 (coreutils and gpg --print-md) files, names and all", async () => {
    const dir = path.join(SHARED_MIRROR, '..', 'archive', 'httpd');
    for (const [file, algo] of [
      ['apache_1.3.42.tar.gz', 'md5'],
      ['httpd-2.0.65.tar.gz', 'md5'],
      ['httpd-2.2.34.tar.gz', 'md5'],
      ['httpd-2.0.65.tar.gz', 'sha1'],
      ['httpd-2.2.34.tar.gz', 'sha1'],
      ['httpd-2.2.34.tar.gz', 'sha256'],
    ] as const) {
      const text = await fs.readFile(path.join(dir, `${file}.${algo}`), 'utf8');
      expect(parseChecksum(text, algo, file), `${file}.${algo}`).toBe(
        createHash(algo)
          .update(await fs.readFile(path.join(dir, file)))
          .digest('hex'),
      );
    }
  });
});

describe('extraction of a real tarball', () => {
  it('a truncated tarball is a clear error and leaves no work dir', async () => {
    const base = await tmpDir();
    const full = await fs.readFile(path.join(SHARED_MIRROR, 'httpd', 'httpd-2.4.68.tar.gz'));
    await fs.writeFile(path.join(base, 't.tar.gz'), full.subarray(0, 200_000));
    await expect(extractTarball(path.join(base, 't.tar.gz'), path.join(base, 'w'))).rejects.toThrow(
      /truncated or corrupt|could not be extracted/,
    );
    await expect(fs.stat(path.join(base, 'w'))).rejects.toThrow();
  });
});

describe('signatures', () => {
  it('verifies the shipped release and names the signer', async () => {
    const dir = path.join(SHARED_MIRROR, 'httpd');
    const s = await verifySignature(
      path.join(dir, 'httpd-2.4.68.tar.gz'),
      await fs.readFile(path.join(dir, 'httpd-2.4.68.tar.gz.asc'), 'utf8'),
      await fs.readFile(path.join(dir, 'KEYS'), 'utf8'),
    );
    expect(s.fingerprint).toBe('65B2 D44F E74B D5E3 DE3A C3F0 8278 1DE4 6D59 54FA');
    expect(s.userId).toContain('covener@apache.org');
  });

  it('verifies a DSA signature, as the 1.3 and 2.0 era used, and rejects a changed file', async () => {
    const home = await tmpDir();
    const gpg = (args: string[], input?: string) =>
      execFileSync(
        'gpg',
        ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
        { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] },
      );
    gpg(['--quick-gen-key', 'Old Release Manager <rm@example.org>', 'dsa2048', 'sign', '0']);
    const keys = `pub   dsa2048 Old Release Manager\n${gpg(['--armor', '--export', 'rm@example.org'])}`;
    const file = path.join(home, 'apache_1.3.42.tar.gz');
    await fs.writeFile(file, 'pretend tarball');
    gpg(['--armor', '--detach-sign', '--output', `${file}.asc`, file]);
    const asc = await fs.readFile(`${file}.asc`, 'utf8');
    const s = await verifySignature(file, asc, keys);
    expect(s.algorithm).toBe('dsa');
    expect(s.userId).toBe('Old Release Manager <rm@example.org>');
    await fs.writeFile(file, 'pretend tarball, altered');
    await expect(verifySignature(file, asc, keys)).rejects.toThrow(/does not match the file/);
    await expect(
      verifySignature(
        file,
        asc,
        await fs.readFile(path.join(SHARED_MIRROR, 'httpd', 'KEYS'), 'utf8'),
      ),
    ).rejects.toThrow(/not in KEYS/);
  });
});

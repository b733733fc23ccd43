/**
 * `--ip` values: only an IPv4 or IPv6 address is written into a hosts file.
 * A hostile value (a second line, a name, a comment) would add entries of the
 * caller's choosing; hostsAdd refuses it before any lock or write.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateIp } from '../../lib/sites/host-names.js';
import { hostsAdd } from '../../lib/sites/hosts-file.js';
import { tmpDir } from '../helpers.js';

const HOSTILE = [
  '',
  ' ',
  '127.0.0.1 evil.dd',
  '127.0.0.1\n10.0.0.1',
  '127.0.0.1\tx',
  '# 127.0.0.1',
  'localhost',
  '127.0.0.256',
  '127.1',
  '1.2.3.4.5',
  '::1 x',
  '::g',
  '127.0.0.1/8',
  '[::1]',
  '0x7f.0.0.1',
  '127.0.0.1\0',
];

describe('validateIp', () => {
  it.each(['127.0.0.1', '10.1.2.3', '::1', 'fe80::1', '2001:db8::42', '::ffff:127.0.0.1'])(
    'accepts %j as it is',
    (ip) => {
      expect(validateIp(ip)).toBe(ip);
    },
  );
  it.each(HOSTILE)('refuses %j with USAGE (exit 2) naming the value', (ip) => {
    expect(() => validateIp(ip)).toThrow(
      expect.objectContaining({
        code: 'USAGE',
        message: expect.stringContaining(JSON.stringify(ip)),
      }),
    );
  });
  it(`hostsAdd refuses each of ${HOSTILE.length} hostile addresses; the hosts file stays byte-identical and nothing is left beside it`, async () => {
    const dir = await tmpDir('apxs-ts-hostip-');
    const f = path.join(dir, 'hosts');
    const original = '127.0.0.1 localhost\r\n::1 localhost\n';
    await fs.writeFile(f, original);
    let refused = 0;
    for (const ip of HOSTILE) {
      // hostsAdd throws before it returns a promise: call it inside one.
      await Promise.resolve()
        .then(() => hostsAdd(f, ['ok.dd'], ip))
        .then(
          () => undefined,
          (err: { code?: string }) => {
            if (err.code === 'USAGE') refused++;
          },
        );
    }
    expect(refused).toBe(HOSTILE.length);
    expect(await fs.readFile(f, 'utf8')).toBe(original);
    expect(await fs.readdir(dir)).toEqual(['hosts']);
  });
});

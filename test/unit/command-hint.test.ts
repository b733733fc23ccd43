/** apxsCommand: the command line a hint names, with the options that located its files, read back by sh as written. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { apxsCommand, shellWord } from '../../lib/core/command-hint.js';

describe('apxsCommand (#18 item 1)', () => {
  it.each([
    [{ hostsFile: '/tmp/h' }, 'apxs-ts hosts add a.dd --hosts-file /tmp/h'],
    [{ hostsFile: '/etc/hosts' }, 'apxs-ts hosts add a.dd'],
    [
      { serverRoot: '/srv/x', hostsFile: '/tmp/h', config: '/c.conf', httpdVersion: '2.2' },
      'apxs-ts hosts add a.dd --server-root /srv/x --hosts-file /tmp/h --config /c.conf --httpd-version 2.2',
    ],
    [{}, 'apxs-ts hosts add a.dd'],
  ])('%j -> %s', (loc, want) => {
    expect(apxsCommand('hosts add a.dd', loc)).toBe(want);
  });

  it('quotes what sh would split or expand, and sh reads each word back as it was', () => {
    for (const p of ['/tmp/with space/h', "/tmp/it's", '/tmp/$HOME/*', '/tmp/a;b']) {
      const line = apxsCommand('hosts add a.dd', { hostsFile: p });
      const words = execFileSync('sh', ['-c', `printf '%s\\n' ${line.slice('apxs-ts '.length)}`], {
        encoding: 'utf8',
      })
        .trimEnd()
        .split('\n');
      expect(words).toEqual(['hosts', 'add', 'a.dd', '--hosts-file', p]);
    }
    expect(shellWord('/plain/path-1.2')).toBe('/plain/path-1.2');
  });
});

/**
 * Issue #18 item 9: `source build 2.2 -- --enable-module=so` (1.3's option).
 * httpd 2.2.34's configure turns autoconf's option check off, so it says
 * nothing; apxs-ts checks the options against the list the real configure
 * script carries. Read from the release tarball itself (no build: the
 * check is what build.ts runs after configure).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers.js';
import { SERIES_ARCHIVE } from '../series-builds.js';
import {
  configureLogWarnings,
  unknownConfigureOptions,
} from '../../lib/source/configure-warnings.js';

describe("configure's ignored options are said (#18 item 9)", () => {
  it('2.2.34: --enable-module=so is unknown to its configure (which prints nothing); 2.2 options are known', async () => {
    const work = await tmpDir('apxs-ts-advice-conf-');
    execFileSync('tar', [
      '-xzf',
      path.join(SERIES_ARCHIVE, 'httpd-2.2.34.tar.gz'),
      '-C',
      work,
      'httpd-2.2.34/configure',
    ]);
    const script = path.join(work, 'httpd-2.2.34', 'configure');
    const text = await fs.readFile(script, 'utf8');
    expect(text).toMatch(/^enable_option_checking=no$/m); // why configure itself stays silent
    expect(
      unknownConfigureOptions(text, [
        '--enable-module=so',
        '--enable-so',
        '--enable-rewrite',
        '--with-included-apr',
        '--disable-cgi',
        '--prefix=/x',
      ]),
    ).toEqual(['--enable-module=so']);
    const log = path.join(work, 'configure.log');
    await fs.writeFile(log, 'checking for chosen layout... Apache\n');
    const w = await configureLogWarnings(log, script, ['--enable-module=so']);
    expect(w).toEqual([
      expect.stringContaining('configure did not recognize --enable-module and ignored it'),
    ]);
  });
});

/** configure's "unrecognized options" line, as autoconf 2.5x-2.7x prints it (#18 item 9). */
import { describe, expect, it } from 'vitest';
import { unrecognizedOptions } from '../../lib/source/configure-warnings.js';

describe('unrecognizedOptions', () => {
  it('takes every option of the warning, once, and nothing from a clean run', () => {
    expect(
      unrecognizedOptions(
        'checking for chosen layout... Apache\nconfigure: WARNING: unrecognized options: --enable-module, --with-foo\n...\nconfigure: WARNING: unrecognized options: --enable-module\n',
      ),
    ).toEqual(['--enable-module', '--with-foo']);
    expect(
      unrecognizedOptions('checking for gcc... gcc\nconfig.status: creating Makefile\n'),
    ).toEqual([]);
  });
});

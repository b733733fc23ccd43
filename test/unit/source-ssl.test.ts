import { describe, expect, it } from 'vitest';
import { requirementsFor } from '../../lib/source/prereqs.js';
import { RECIPES } from '../../lib/source/recipes.js';

describe('source build --with-ssl', () => {
  it('2.4 adds mod_ssl and shmcb as DSOs and needs libssl-dev; without it neither', () => {
    expect(RECIPES['2.4'].ssl?.args).toEqual([
      '--enable-ssl=shared',
      '--enable-socache-shmcb=shared',
    ]);
    expect(requirementsFor('2.4.68', { ssl: true }).map((r) => r.pkg)).toContain('libssl-dev');
    expect(requirementsFor('2.4.68').map((r) => r.pkg)).not.toContain('libssl-dev');
  });
  it('before 2.4 there is no ssl recipe (the build refuses --with-ssl: TLS_UNSUPPORTED)', () => {
    for (const s of ['1.3', '2.0', '2.2'] as const) expect(RECIPES[s].ssl).toBeUndefined();
    expect(requirementsFor('2.2.34', { ssl: true }).map((r) => r.pkg)).not.toContain('libssl-dev');
  });
});

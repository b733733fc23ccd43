/** `build --sanitize KIND`: a bad KIND is refused before anything is read or written, naming it and every choice. */
import { describe, expect, it } from 'vitest';
import { setSanitizer, type ModuleProject } from '../../lib/module/project.js';

describe('build --sanitize', () => {
  const project = {
    sanitize: undefined,
    manifestFile: '/nonexistent/apxs-ts-module.json',
  } as unknown as ModuleProject;

  it('a kind it does not know is BAD_INPUT naming the value and address, undefined, none', async () => {
    await expect(setSanitizer(project, 'bogus')).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: '--sanitize is "bogus": it must be address, undefined or none',
    });
  });

  it('the kind already kept changes nothing (no manifest is read)', async () => {
    await expect(setSanitizer(project, 'none')).resolves.toBe(project);
  });
});

/** README's "Many machines" shows the playbook test/e2e/ansible.test.ts runs: the same bytes (#23). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

describe('README and ansible/examples/playbook.yml', () => {
  it('the Many machines section holds the example playbook verbatim', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const playbook = readFileSync(path.join(ROOT, 'ansible', 'examples', 'playbook.yml'), 'utf8');
    const section = readme.slice(readme.indexOf('## Many machines'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(playbook);
  });
});

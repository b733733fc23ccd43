import { defineConfig } from 'vitest/config';

// The tests Stryker runs against each mutant (scripts/mutation.sh): only those
// that load lib/ in-process. Tests that spawn the built CLI run dist/, which a
// mutant never reaches, so they could not kill one and would only cost time.
// MUTATION_TESTS="test/unit/lock*.test.ts,test/unit/identity*.test.ts" narrows
// the set while iterating on one file (a lower bound of that file's score:
// the dry run of every unit test is most of a one-file run's time).
const only = process.env.MUTATION_TESTS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);

export default defineConfig({
  test: {
    include: only?.length ? only : ['test/unit/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

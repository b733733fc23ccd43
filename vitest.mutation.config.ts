import { defineConfig } from 'vitest/config';

// The tests Stryker runs against each mutant (scripts/mutation.sh): only those
// that load lib/ in-process. Tests that spawn the built CLI run dist/, which a
// mutant never reaches, so they could not kill one and would only cost time.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

#!/usr/bin/env bash
# Mutation testing (issue #16): Stryker with its vitest runner mutates
# lib/core/**, lib/httpd/config-edit.ts and lib/ctl/identity.ts (stryker.config.json)
# and runs, against each mutant, the tests that load lib/ in-process
# (vitest.mutation.config.ts: test/unit/**). Tests that only spawn the built
# CLI run dist/, which a mutant never reaches, so they are not run.
#
#   scripts/mutation.sh                              every file (over an hour on 2 shared cores)
#   scripts/mutation.sh --mutate "lib/core/lock.ts,lib/core/trust.ts"
#                                                    some files: ONE comma list (a second --mutate
#                                                    replaces the first)
#   MUTATION_TESTS="test/unit/lock*.test.ts" scripts/mutation.sh --mutate lib/core/lock.ts
#                                                    only those tests (a lower bound of the score;
#                                                    the dry run of every unit test is most of a
#                                                    one-file run's time)
#
# concurrency 1: the machine's cores are shared. The report: the clear-text
# table on stdout (per file: % score, killed, timeout, survived, no coverage)
# and reports/mutation/mutation.json; scripts/mutation-summary.mjs prints the
# per-file scores and every survivor from that JSON, each with the name under
# which test/mutation-equivalent.json explains it (file + mutator + the code,
# no line numbers), and the names there that no longer match (STALE).
set -euo pipefail
cd "$(dirname "$0")/.."
npx stryker run "$@"
node scripts/mutation-summary.mjs reports/mutation/mutation.json

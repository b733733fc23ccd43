/**
 * `import { serverFor } from 'apxs-ts/testing'`: the machinery of
 * `apxs-ts test` for people who want code instead of case files. Bundled
 * on its own (scripts/bundle-testing.mjs -> dist/apxs-ts-testing.cjs);
 * nothing here prints or exits.
 */
export { serverFor, type ServerForOptions, type TestServer } from './server.js';
export {
  parseCaseFile,
  satisfies,
  type CaseFile,
  type CaseRequest,
  type Matcher,
  type TestCase,
  type VhostSpec,
} from './case-file.js';
export { checkCase, type Failure } from './check.js';
export { runTests, type CaseResult, type RunOptions, type TestReport } from './run.js';
export { junitReport, humanReport } from './report.js';
export type { HttpResult } from './http.js';
export { LogWindow } from './log-window.js';
export { ApxsError } from '../core/errors.js';

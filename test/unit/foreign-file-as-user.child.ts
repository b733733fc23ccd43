/**
 * Child of foreign-file-mutation.test.ts (through test/stryker-child.ts):
 * writeForeignFile as another user. seteuid is per process, and not allowed
 * in a worker thread (Stryker's vitest pool), so this runs as a process.
 * Reports the result, or the error's code and message.
 */
import { writeForeignFile } from '../../lib/core/foreign-file.js';
import { reportFromChild } from '../stryker-child.js';

process.setegid!(Number(process.env.FF_UID)); // its own group too (65534: nogroup), as a real login would have
process.seteuid!(Number(process.env.FF_UID));
writeForeignFile(process.env.FF_FILE!, process.env.FF_DATA!).then(
  (result) => reportFromChild({ result }),
  (err: { code?: string; message?: string }) =>
    reportFromChild({ error: { code: err.code, message: err.message } }),
);

/**
 * What a long-running command prints as it goes (a `dev` cycle, a line of
 * `ctl logs --follow`), printed the way commands/index.ts prints a final
 * outcome: one JSON object per item under --json on stdout, its lines on
 * stdout otherwise, nothing under -q. A live status line goes to stderr, on
 * a terminal only. Commands hand items here instead of writing to the
 * process streams themselves.
 */
import { writeErr, writeLines, writeOut } from './output.js';
import { isJson as json, outputMode } from './progress.js';

export function emit(item: { json: Record<string, unknown>; lines: string[] }): void {
  if (json()) writeOut(`${JSON.stringify(item.json)}\n`);
  else if (!outputMode().quiet) writeLines('out', item.lines);
}

/** Whether a live status line is drawn: a terminal on stderr, not CI, not --json or -q. */
export function statusIsLive(): boolean {
  return !json() && !outputMode().quiet && !process.env.CI && process.stderr.isTTY === true;
}

/** Replaces the live status line (empty text clears it). */
export function status(text: string): void {
  if (statusIsLive()) writeErr(`\r\x1b[K${text}`);
}

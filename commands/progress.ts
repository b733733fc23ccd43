/**
 * A spinner on a real terminal (never under CI or --json); elsewhere nothing,
 * and callers print plain lines instead. A terminal that reports no width
 * (a pty made by `script`, some CI log viewers) gets plain lines too: ora
 * cannot size its line there and floods the screen.
 */
import type { Progress } from './types.js';

export async function progress(json: boolean): Promise<Progress> {
  const quiet: Progress = { live: false, start() {}, update() {}, stop() {} };
  if (json || process.env.CI || !process.stderr.isTTY || !process.stderr.columns) return quiet;
  const { default: ora } = await import('ora');
  const spinner = ora({ stream: process.stderr, discardStdin: false });
  let last = 0;
  return {
    live: true,
    start: (text) => void spinner.start(text),
    // Downloads report every chunk: redraw at most ten times a second.
    update: (text) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      spinner.text = text;
    },
    stop: () => void spinner.stop(),
  };
}

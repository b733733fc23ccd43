/** A spinner on a TTY (never under CI or --json), plain nothing otherwise. */
import type { Progress } from './types.js';

export async function progress(json: boolean): Promise<Progress> {
  const quiet: Progress = { start() {}, update() {}, stop() {} };
  if (json || process.env.CI || !process.stderr.isTTY) return quiet;
  const { default: ora } = await import('ora');
  const spinner = ora({ stream: process.stderr });
  return {
    start: (text) => void spinner.start(text),
    update: (text) => void (spinner.text = text),
    stop: () => void spinner.stop(),
  };
}

/**
 * A spinner on a real terminal (never under CI, --json or -q); elsewhere
 * nothing, and callers print plain lines instead. A terminal that reports no
 * width (a pty made by `script`, some CI log viewers) gets plain lines too:
 * ora cannot size its line there and floods the screen.
 *
 * ora is loaded only when an operation has run longer than SPINNER_DELAY_MS:
 * loading it costs more CPU (~160 ms measured on a pty) than a fast `ctl
 * start` takes, and a spinner that would be drawn for 20 ms helps nobody.
 * Without colour (NO_COLOR, --no-color) the spinner draws no colour codes.
 */
import type { Progress } from './types.js';

/** How long an operation runs before its spinner is shown (and ora loaded). */
export const SPINNER_DELAY_MS = 150;

export interface OutputMode {
  /** -q/--quiet: nothing but errors. */
  quiet: boolean;
  /** false with --no-color or NO_COLOR. */
  color: boolean;
  /** --json: what a command streams is one JSON object per item (commands/stream.ts). */
  json?: boolean;
}

let mode: OutputMode = { quiet: false, color: true };

/** Set once by commands/index.ts from the global options. */
export function setOutputMode(m: OutputMode): void {
  mode = { ...m };
}

export function outputMode(): OutputMode {
  return { ...mode };
}

/**
 * --json: the one way a command asks for the output mode (set by commands/index.ts before its
 * action runs).
 */
export const isJson = (): boolean => mode.json === true;

/** NO_COLOR (https://no-color.org): any non-empty value turns colour off. */
export const noColorEnv = (env: NodeJS.ProcessEnv = process.env): boolean => !!env.NO_COLOR;

/** What createProgress needs from ora: a spinner with a text, started and stopped. */
export interface Spinner {
  text: string;
  start(text?: string): unknown;
  stop(): unknown;
}

export type SpinnerFactory = (o: {
  stream: NodeJS.WritableStream;
  color: false | 'cyan';
  discardStdin: false;
}) => Spinner;

export interface ProgressDeps {
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  /**
   * Loads the spinner library; called at most once per Progress, and only once the delay has
   * passed.
   */
  load: () => Promise<SpinnerFactory>;
  delayMs: number;
}

const loadOra = async (): Promise<SpinnerFactory> => {
  const { default: ora } = await import('ora');
  return (o) => ora(o);
};

/**
 * A Progress for one operation. `live` is true when the caller should print
 * no progress lines of its own: a spinner draws them (once the delay has
 * passed), or -q asked for nothing.
 */
export function createProgress(json: boolean, deps: ProgressDeps, m: OutputMode = mode): Progress {
  const nothing: Progress = { live: m.quiet && !json, start() {}, update() {}, stop() {} };
  if (json || m.quiet || deps.env.CI || !deps.stream.isTTY || !deps.stream.columns) return nothing;
  const color = m.color && !noColorEnv(deps.env) ? 'cyan' : false;
  let text = '';
  let spinner: Spinner | undefined;
  let timer: NodeJS.Timeout | undefined;
  let generation = 0;
  let last = 0;
  const show = async (g: number) => {
    const make = await deps.load();
    if (g !== generation) return; // stopped (or restarted) while ora loaded
    spinner = make({ stream: deps.stream, color, discardStdin: false });
    spinner.start(text);
  };
  return {
    live: true,
    start(t) {
      text = t;
      const g = ++generation;
      clearTimeout(timer);
      timer = setTimeout(() => void show(g).catch(() => {}), deps.delayMs);
      timer.unref?.();
    },
    // Downloads report every chunk: redraw at most ten times a second.
    update(t) {
      text = t;
      if (!spinner) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      spinner.text = t;
    },
    stop() {
      generation++;
      clearTimeout(timer);
      timer = undefined;
      spinner?.stop();
      spinner = undefined;
    },
  };
}

export async function progress(json: boolean): Promise<Progress> {
  return createProgress(json, {
    stream: process.stderr,
    env: process.env,
    load: loadOra,
    delayMs: SPINNER_DELAY_MS,
  });
}

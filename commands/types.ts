/**
 * What a command hands back to commands/index.ts, which alone prints it and picks the exit code.
 */
export interface Outcome {
  /** The result, printed as one JSON object under --json. */
  data: Record<string, unknown>;
  /** Human lines for stderr (summaries, hints). */
  human?: string[];
  /** Content for stdout when not --json (log lines, a verdict). */
  stdout?: string[];
}

// Commander calls each action with its own arguments, options and command.
// biome-ignore lint/suspicious/noExplicitAny: each action's own arguments
export type Action = (...args: any[]) => Promise<Outcome>;

/** Wraps a command's action so index.ts can print its outcome or its error. */
// biome-ignore lint/suspicious/noExplicitAny: as Action
export type Runner = (action: Action) => (...args: any[]) => Promise<void>;

export interface Progress {
  /**
   * True when callers print no progress lines of their own (a spinner draws them on a terminal, or
   * -q asked for nothing); false when they should print plain lines.
   */
  live: boolean;
  start(text: string): void;
  update(text: string): void;
  stop(): void;
}

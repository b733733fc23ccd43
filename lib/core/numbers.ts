/**
 * The one parser of numbers a user types (options, environment variables):
 * digits only (no "1e3", "0x10", " 5", "-3", "abc"), within a range each
 * option states. commands/options.ts turns a rule into a commander option
 * parser, so every numeric option of every command is checked the same way
 * and a bad value is refused (exit 2) before the command does anything.
 */
export interface NumberRule {
  min: number;
  max: number;
  /** Fractions allowed ("1.5" seconds); otherwise a whole number. */
  fraction?: boolean;
  /** What the number counts, for the message: "seconds", "lines". */
  unit?: string;
}

/** The number `text` states under `rule`, or undefined when it is not one. */
export function parseNumber(text: string, rule: NumberRule): number | undefined {
  const re = rule.fraction ? /^\d{1,12}(\.\d{1,6})?$/ : /^\d{1,12}$/;
  if (!re.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= rule.min && n <= rule.max ? n : undefined;
}

/** "a whole number of lines from 1 to 1000000" */
export function expected(rule: NumberRule): string {
  const what = rule.fraction ? 'a number' : 'a whole number';
  const unit = rule.unit ? ` of ${rule.unit}` : '';
  return `${what}${unit} from ${rule.min} to ${rule.max}`;
}

/** The numeric options of apxs-ts, each with its range, declared once. */
export const NUMBER_RULES = {
  port: { min: 1, max: 65535 },
  /** A wait or timeout: more than 0 (0 would give up before trying), at most a day. */
  timeoutSeconds: { min: 0.001, max: 86_400, fraction: true, unit: 'seconds' },
  /** How long to wait for a lock another run holds: 0 means do not wait. */
  lockWaitSeconds: { min: 0, max: 86_400, fraction: true, unit: 'seconds' },
  lines: { min: 1, max: 1_000_000, unit: 'lines' },
  jobs: { min: 1, max: 9999, unit: 'jobs' },
  debounceMs: { min: 0, max: 60_000, unit: 'milliseconds' },
  /** `apxs-ts test --repeat`: runs of each case. */
  repeat: { min: 1, max: 100_000, unit: 'runs' },
  /** tls renew --expiring, doctor's expiry warning: up to a certificate's whole life. */
  days: { min: 0, max: 3650, unit: 'days' },
} satisfies Record<string, NumberRule>;

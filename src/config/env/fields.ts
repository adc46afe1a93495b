import { z } from 'zod';

// Field shapes shared by the setting groups (src/config/env/*.ts).

/** A comma-separated list of secrets (several are allowed during rotation); blanks are dropped. */
export const secretList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

/**
 * A whole-number setting: decimal digits only, then checked by `number`. z.coerce.number() read
 * what Number() reads, so WORKER_CONCURRENCY=0x10 ran 16 workers, 1e3 ran 1000, and 5.0, +5, 0b1
 * and 0o7 passed as 5, 5, 1 and 7: a value the operator did not write as a number is refused.
 */
export const wholeNumber = (number: z.ZodNumber = z.number()) =>
  z
    .string()
    .regex(/^\d+$/, { error: (issue) => notDecimal(issue.input, 'digits 0-9 only, e.g. 50', 'decimal point, ') })
    .transform(Number)
    .pipe(number.int());

/** A setting that may have a fraction (a rate, seconds): digits with an optional `.` and digits. */
export const decimalNumber = (number: z.ZodNumber = z.number()) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, {
      error: (issue) => notDecimal(issue.input, 'digits 0-9 with an optional fraction, e.g. 2.5'),
    })
    .transform(Number)
    .pipe(number);

// Numeric settings are not secrets: the value is quoted (bounded) so the operator sees what was read.
const notDecimal = (input: unknown, allowed: string, alsoRefused = '') =>
  `${JSON.stringify(String(input).slice(0, 40))} is not a plain decimal number: write ${allowed} (no sign, exponent, ${alsoRefused}0x/0o/0b prefix or separators)`;

export const positiveInt = (fallback: number) => wholeNumber(z.number().positive()).default(fallback);

/**
 * Node's timers run a delay above 2^31-1 ms (24.8 days) after 1 ms instead, with only a warning:
 * SHUTDOWN_TIMEOUT_MS=3000000000 aborted running handlers at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A positive whole number of milliseconds that a timer can wait. */
export const timerMs = (fallback: number) =>
  wholeNumber(
    z
      .number()
      .positive()
      .max(MAX_TIMER_MS, {
        error: `must be at most ${MAX_TIMER_MS} (about 24.8 days), the longest a Node timer waits`,
      }),
  ).default(fallback);

/** A positive whole number of seconds that a timer can wait (in milliseconds). */
export const timerSeconds = (fallback: number) =>
  wholeNumber(
    z
      .number()
      .positive()
      .max(Math.floor(MAX_TIMER_MS / 1000), {
        error: `must be at most ${Math.floor(MAX_TIMER_MS / 1000)} (about 24.8 days), the longest a Node timer waits`,
      }),
  ).default(fallback);

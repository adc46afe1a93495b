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

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * Node's timers run a delay above 2^31-1 ms (24.8 days) after 1 ms instead, with only a warning:
 * SHUTDOWN_TIMEOUT_MS=3000000000 aborted running handlers at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A positive whole number of milliseconds that a timer can wait. */
export const timerMs = (fallback: number) =>
  z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_TIMER_MS, { error: `must be at most ${MAX_TIMER_MS} (about 24.8 days), the longest a Node timer waits` })
    .default(fallback);

/** A positive whole number of seconds that a timer can wait (in milliseconds). */
export const timerSeconds = (fallback: number) =>
  z.coerce
    .number()
    .int()
    .positive()
    .max(Math.floor(MAX_TIMER_MS / 1000), {
      error: `must be at most ${Math.floor(MAX_TIMER_MS / 1000)} (about 24.8 days), the longest a Node timer waits`,
    })
    .default(fallback);

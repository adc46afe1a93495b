import { z } from '@hono/zod-openapi';

// Field shapes the ops API's request and response schemas share.

export const timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-23T10:15:00.000Z' });
// PostgreSQL has no year 0 and refuses it (0000-01-01T00:00:00Z passed the format and answered 500).
export const isoTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-23T10:00:00Z' })
  // NaN for text that is no time at all: the format's own message says that, this one would only add noise.
  .refine((text) => !(new Date(text).getUTCFullYear() < 1), 'must be in the year 0001 or later');

/**
 * Filter text is compared with stored text, which cannot hold NUL: refused here with the
 * parameter's name instead of failing in the database.
 */
export const filterText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((text) => !text.includes('\u0000'), 'must not contain a NUL character');

const DECIMAL = /^\d+$/;
const DECIMAL_ONLY = 'must be written in decimal digits 0-9 only (no sign, exponent, decimal point or 0x/0o/0b prefix)';

/**
 * A whole number from a path or a query string, from `minimum` to `maximum`, decimal digits only.
 * z.coerce.number() read what Number() reads: /api/events/1e3 was event 1000, /api/events/5.0
 * event 5, and ?limit=0x10 a page of 16.
 */
export const decimalInteger = (minimum: number, maximum: number, example: number) =>
  z
    .string()
    .regex(DECIMAL, `${DECIMAL_ONLY}, e.g. ${example}`)
    .transform(Number)
    .pipe(z.number().int().min(minimum).max(maximum))
    .openapi({ type: 'integer', minimum, maximum, example });

/** A stored row's id in a path or a query string: 1 to 2^53-1, decimal digits only. */
export const decimalId = (example = 42) => decimalInteger(1, Number.MAX_SAFE_INTEGER, example);

/** A list's page size (`limit`): 1 to 500, 50 unless given. */
export const pageLimit = () => decimalInteger(1, 500, 50).default(50).openapi({ default: 50 });

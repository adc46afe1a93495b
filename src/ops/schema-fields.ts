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

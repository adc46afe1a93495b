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

import { z } from 'zod';

/** Seconds a signed timestamp may differ from now, either way; 300 s is what Stripe and Svix use. */
export const toleranceSeconds = z.number().int().min(1).max(86_400).default(300);

/** A header name as it will be looked up: lower-case, HTTP token characters. */
export const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name')
  .transform((name) => name.toLowerCase());

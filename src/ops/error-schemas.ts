import { z } from '@hono/zod-openapi';

// The ops API's error answer, and the error responses every operation documents.

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).openapi('Error');

export const errorResponses = {
  400: { description: 'Invalid request', content: { 'application/json': { schema: ErrorBody } } },
  401: {
    description: 'Missing, unknown, revoked or expired token',
    content: { 'application/json': { schema: ErrorBody } },
  },
  403: { description: 'The token role does not allow this', content: { 'application/json': { schema: ErrorBody } } },
} as const;

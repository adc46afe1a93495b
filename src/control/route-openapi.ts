import type { z } from '@hono/zod-openapi';
import { errorResponses } from '../ops/schemas';

// What the control plane's routes declare in their OpenAPI entries (sources, secrets, destinations).
/** Every control-plane route takes the ops token. */
export const bearer = [{ opsToken: [] }];
/** A JSON response with its schema. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
/** An error response (`{ "error": { "code", "message" } }`). */
export const error = (description: string) => json(errorResponses[400].content['application/json'].schema, description);
export { ifMatch, versionFrom } from '../ops/if-match';

import { OpenAPIHono } from '@hono/zod-openapi';
import { badRequest } from '../errors';

/** Validation failures become the gateway's 400 JSON error naming each field. */
export function createOpsApp(): OpenAPIHono {
  return new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) {
        const problems = result.error.issues.map((i) =>
          i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message,
        );
        throw badRequest('invalid_request', problems.join('; '));
      }
    },
  });
}

import { OpenAPIHono } from '@hono/zod-openapi';
import { badRequest } from '../errors';
import { describeIssues } from '../validation/issue-list';

/** What a problem of a whole request part (not one field of it) is about: "body: must be a JSON object". */
const WHOLE: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'headers' };

/** Validation failures become the gateway's 400 JSON error naming each field. */
export function createOpsApp(): OpenAPIHono {
  return new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success)
        throw badRequest('invalid_request', describeIssues(result.error.issues, WHOLE[result.target]));
    },
  });
}

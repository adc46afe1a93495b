import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { SourceService } from './service';
import type { AnswerChange } from './source-answer';
import { bearer, ifMatch, json, versionFrom } from './route-openapi';
import { guardedResponses, NameParam, RotateBody, Rotated, SecretParam, Source } from './source-schemas';

/** `/api/sources/{name}/rotate-secret` and `/api/sources/{name}/secrets/{id}`: a source's secrets. */
export function addSecretRoutes(app: OpenAPIHono, deps: { sources: SourceService; answer: AnswerChange }): void {
  const { answer } = deps;
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/sources/{name}/rotate-secret',
      summary: 'Add a secret; the previous ones stay valid for overlap_seconds (default 24 h)',
      security: bearer,
      request: {
        params: NameParam,
        headers: ifMatch,
        body: { content: { 'application/json': { schema: RotateBody } }, required: false },
      },
      responses: { 200: json(Rotated, 'Rotated; `secret` is shown this once'), ...guardedResponses },
    }),
    async (c) => {
      const raw = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : undefined;
      const body = RotateBody.parse(raw ?? {});
      return answer(
        c,
        await deps.sources.rotateSecret(
          c.req.valid('param').name,
          { secret: body.secret, overlapSeconds: body.overlap_seconds, keep: body.keep },
          versionFrom(c),
        ),
      ) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/sources/{name}/secrets/{id}',
      summary: 'Revoke one secret at once',
      security: bearer,
      request: { params: SecretParam, headers: ifMatch },
      responses: { 200: json(Source, 'Revoked'), ...guardedResponses },
    }),
    async (c) => {
      const { name, id } = c.req.valid('param');
      return answer(c, await deps.sources.revokeSecret(name, id, versionFrom(c))) as never;
    },
  );
}

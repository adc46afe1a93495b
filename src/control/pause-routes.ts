import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { SourceService } from './service';
import type { AnswerChange } from './source-answer';
import { bearer, ifMatch, json, versionFrom } from './route-openapi';
import { guardedResponses, NameParam, Source } from './source-schemas';

/** `/api/sources/{name}/pause` and `/resume`: hold a source's events, and release them. */
export function addPauseRoutes(
  app: OpenAPIHono,
  deps: { sources: SourceService; answer: AnswerChange; onResumed?: () => void },
): void {
  const { answer } = deps;
  for (const action of ['pause', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/api/sources/{name}/${action}`,
        security: bearer,
        summary:
          action === 'pause'
            ? "Hold the source's events: still accepted and stored, not processed"
            : 'Process the held events again',
        request: { params: NameParam, headers: ifMatch },
        responses: { 200: json(Source, action === 'pause' ? 'Paused' : 'Resumed'), ...guardedResponses },
      }),
      async (c) => {
        const change = await deps.sources.setPaused(c.req.valid('param').name, action === 'pause', versionFrom(c));
        if (action === 'resume') deps.onResumed?.();
        return answer(c, change) as never;
      },
    );
  }
}

import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Database } from '../db/client';
import { GatewayError, notFound } from '../errors';
import { skipEvent } from '../ordering/skip';
import type { AuditLog } from '../store/audit';
import type { EventStore } from '../store/events';
import { auditContext } from './audit-context';
import { requireRole } from './auth';
import { EventSummary, IdParam, errorResponses } from './schemas';
import { eventSummary } from './serialize';
import { MASKED, type SourceMask } from './source-mask';

export interface SkipRouteDeps {
  database: Database;
  store: Pick<EventStore, 'get'>;
  audit: AuditLog;
  trustedProxies: number;
  /** What the API hides of a source's events (src/ops/source-mask.ts), the ordering key among them. */
  maskFor: (source: string) => SourceMask;
}

const errorSchema = errorResponses[400].content['application/json'].schema;

/** POST /api/events/{id}/skip: an operator takes an event out of its ordering lane (docs/ordering.md). */
export function addSkipRoute(app: OpenAPIHono, deps: SkipRouteDeps): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/events/{id}/skip',
      middleware: requireRole('operator'),
      summary:
        'Skip an event of an ordered source (e.g. the head blocking its key): it fails with "skipped by <token>" and the key moves on',
      security: [{ opsToken: [] }],
      request: { params: IdParam },
      responses: {
        200: { description: 'The skipped event', content: { 'application/json': { schema: EventSummary } } },
        404: { description: 'No such event', content: { 'application/json': { schema: errorSchema } } },
        409: {
          description: 'Not skippable: being processed, finished, or its source has no ordering',
          content: { 'application/json': { schema: errorSchema } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const context = auditContext(c, deps.trustedProxies);
      const result = await skipEvent(deps.database, id, context.actor);
      if (result.status === 'not_found') throw notFound('event_not_found', `No event with id ${id}`);
      if (result.status === 'processing')
        throw new GatewayError(
          409,
          'event_processing',
          `Event ${id} is being processed right now; skip it if it is still blocking after this attempt`,
        );
      if (result.status === 'not_queued')
        throw new GatewayError(
          409,
          'event_not_queued',
          `Event ${id} has finished (completed, failed or skipped); nothing waits on it`,
        );
      if (result.status === 'not_ordered')
        throw new GatewayError(
          409,
          'event_not_ordered',
          `Event ${id} is not in an ordering lane (its source has no ordering, or it had no key); replay or wait instead`,
        );
      const event = (await deps.store.get(id))!;
      const mask = deps.maskFor(event.source);
      // The lane is "<source>:<ordering key>": the audit log hides a masked key as the views do.
      const lane = mask.orderingKey ? `${event.source}:${MASKED}` : result.lane;
      await deps.audit.record({
        ...context,
        action: 'event.skip',
        target: `event:${id}`,
        after: { status: event.status, lane },
      });
      return c.json(eventSummary(event, mask), 200);
    },
  );
}

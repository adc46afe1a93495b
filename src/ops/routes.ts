import { Hono } from 'hono';
import { z } from 'zod';
import { EVENT_STATUSES } from '../db/schema';
import { GatewayError, badRequest, notFound } from '../errors';
import type { EventStore } from '../store/events';
import { requireOpsToken } from './auth';
import { eventDetail, eventSummary } from './serialize';

export interface OpsDeps {
  store: EventStore;
  tokens: readonly string[];
  maxAttempts: number;
  /** Called after a replay made an event due, to wake the worker. */
  onReplayed?: () => void;
}

const listQuery = z.object({
  source: z.string().min(1).optional(),
  status: z.enum(EVENT_STATUSES).optional(),
  topic: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'cursor must be the next_cursor value of a previous page')
    .transform(Number)
    .optional(),
});

const eventId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The ops API: list, inspect and replay events. Everything here requires the ops token. */
export function createOpsRoutes(deps: OpsDeps): Hono {
  const app = new Hono();
  app.use('/api/events', requireOpsToken(deps.tokens));
  app.use('/api/events/*', requireOpsToken(deps.tokens));

  app.get('/api/events', async (c) => {
    const query = parse(listQuery, c.req.query());
    const page = await deps.store.list({ ...query, beforeId: query.cursor, limit: query.limit + 1 });
    const events = page.slice(0, query.limit);
    const next = page.length > query.limit ? String(events[events.length - 1]!.id) : null;
    return c.json({ events: events.map(eventSummary), next_cursor: next });
  });

  app.get('/api/events/:id', async (c) => {
    const id = parse(eventId, c.req.param('id'));
    const event = await deps.store.get(id);
    if (!event) throw notFound('event_not_found', `No event with id ${id}`);
    return c.json(eventDetail(event, await deps.store.attempts(id)));
  });

  app.post('/api/events/:id/replay', async (c) => {
    const id = parse(eventId, c.req.param('id'));
    const result = await deps.store.replay(id, deps.maxAttempts);
    if (result.status === 'not_found') throw notFound('event_not_found', `No event with id ${id}`);
    if (result.status === 'processing') {
      throw new GatewayError(409, 'event_processing', `Event ${id} is being processed right now; replay it when it has finished`);
    }
    deps.onReplayed?.();
    return c.json({ status: 'replayed', event: eventSummary(result.event) });
  });

  return app;
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw badRequest('invalid_request', problems.join('; '));
  }
  return parsed.data;
}

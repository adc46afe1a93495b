import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { badRequest } from '../errors';
import type { EventNotification } from '../worker/notifications';
import { requireRole } from './auth';
import type { EventBus } from './event-bus';

const StreamQuery = z.object({
  source: z.string().min(1).optional(),
  status: z.enum(['received', 'completed', 'failed']).optional(),
  topic: z.string().min(1).optional(),
});

const KEEPALIVE_MS = 15_000;

/**
 * GET /api/events/stream: Server-Sent Events, one `event: <status>` message per event received or
 * finished by any instance on the database (the bus is fed by PostgreSQL NOTIFY), with the same
 * source/status/topic filters as the list endpoint. A comment line every 15 s keeps proxies open.
 */
export function createStreamRoutes(deps: { bus: EventBus }): Hono {
  const app = new Hono();
  app.get('/api/events/stream', requireRole('viewer'), (c) => {
    const parsed = StreamQuery.safeParse(c.req.query());
    if (!parsed.success) {
      throw badRequest('invalid_request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    const filter = parsed.data;
    const wanted = (e: EventNotification) =>
      (!filter.source || e.source === filter.source) &&
      (!filter.status || e.status === filter.status) &&
      (!filter.topic || e.topic === filter.topic);

    return streamSSE(c, async (stream) => {
      const queue: EventNotification[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = deps.bus.subscribe((event) => {
        if (!wanted(event)) return;
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      await stream.writeSSE({ event: 'ready', data: JSON.stringify({ filter }) });
      while (!stream.aborted && !stream.closed) {
        const next = queue.shift();
        if (next) {
          await stream.writeSSE({ event: next.status, id: String(next.id), data: JSON.stringify(next) });
          continue;
        }
        const timer = new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, KEEPALIVE_MS).unref();
        });
        await timer;
        wake = undefined;
        if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
      }
      unsubscribe();
    });
  });
  return app;
}

import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app';

// The webhook routes are answered by an app of their own (src/app.ts, dedicatePrefix): same shell,
// same handlers, a faster router. These check that the answers are the ones the whole app gives,
// and that a route group that would change them stops the start.

const logger = pino({ level: 'silent' });

function webhookRoutes() {
  const routes = new Hono();
  routes.post('/api/webhooks/:name', (c) => c.json({ status: 'accepted', source: c.req.param('name') }));
  routes.post('/api/webhooks/:name/*', (c) => c.json({ status: 'accepted', sub: c.req.path }));
  routes.all('/api/webhooks/:name', (c) => c.json({ error: { code: 'method_not_allowed' } }, 405));
  return routes;
}

function opsRoutes() {
  const routes = new Hono();
  routes.get('/api/events', (c) => c.json({ events: [] }));
  routes.get('/api/events/stream', (c) => c.text('stream'));
  routes.get('/api/events/:id', (c) => c.json({ id: c.req.param('id') }));
  routes.post('/api/events/replay', (c) => c.json({ replayed: 0 }));
  return routes;
}

describe('the dedicated router of the webhook routes', () => {
  it('answers webhook paths exactly as the whole app does, and every other path from the whole app', async () => {
    let stopping = false;
    const ingest = webhookRoutes();
    const build = (dedicated: boolean) =>
      createApp({
        logger,
        isStopping: () => stopping,
        routes: [ingest, opsRoutes()],
        ...(dedicated ? { dedicated: { prefix: '/api/webhooks/', routes: ingest } } : {}),
      });
    const plain = build(false);
    const fast = build(true);
    const requests: [string, string][] = [
      ['POST', '/api/webhooks/shopify'],
      ['POST', '/api/webhooks/shopify/orders/create?x=1'],
      ['GET', '/api/webhooks/shopify'],
      ['POST', '/api/webhooks/'],
      ['GET', '/api/events/42'],
      ['GET', '/api/events/stream'],
      ['GET', '/nowhere'],
    ];
    for (const [method, path] of requests) {
      const a = await plain.request(path, { method });
      const b = await fast.request(path, { method });
      expect({ path, status: b.status, body: await b.text() }).toEqual({
        path,
        status: a.status,
        body: await a.text(),
      });
    }
    // The shell's middlewares run for webhook paths too: a stopping server closes the connection.
    stopping = true;
    expect((await fast.request('/api/webhooks/shopify', { method: 'POST' })).headers.get('connection')).toBe('close');
  });

  it('refuses to start when another route group would also answer under the prefix', () => {
    const ingest = webhookRoutes();
    const greedy = new Hono();
    greedy.use('/api/*', async (_c, next) => next());
    expect(() =>
      createApp({ logger, routes: [greedy, ingest], dedicated: { prefix: '/api/webhooks/', routes: ingest } }),
    ).toThrow(/routes under \/api\/webhooks\/ differ/);
  });

  it('refuses to start when another route group has a route of its own under the prefix', () => {
    const ingest = webhookRoutes();
    const stats = new Hono();
    stats.get('/api/webhooks/stats', (c) => c.json({ ok: true }));
    expect(() =>
      createApp({ logger, routes: [stats, ingest], dedicated: { prefix: '/api/webhooks/', routes: ingest } }),
    ).toThrow(/GET \/api\/webhooks\/stats is under \/api\/webhooks\/ but not one of its dedicated routes/);
  });
});

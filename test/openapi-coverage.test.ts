import { describe, expect, it } from 'vitest';
import { startTestGateway } from './helpers/gateway';
import { sourcesFromConfig } from '../src/ingest/sources';
import { providerSources } from './helpers/provider-signers';

/** The API document itself and its reference page: served beside the API, not part of it. */
const NOT_API = new Set(['/api/openapi.json', '/api/docs', '/api/docs/assets/start.js', '/api/docs/assets/:file']);

// Walks the routes the running app registered: every /api, /metrics and /health* route must be in
// /api/openapi.json, so a route added later cannot slip past the document.
describe('OpenAPI document', { timeout: 180_000 }, () => {
  it('describes every route under /api, /metrics, /healthz and /readyz', async () => {
    const gw = await startTestGateway('pglite', { sources: providerSources() });
    try {
      const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      // Ingest endpoints are the providers' (docs/providers.md), not the ops API's.
      // Runtime sources (src/control) are served by the two catch-all ingest routes.
      const ingest = new Set([
        ...sourcesFromConfig(gw.config).flatMap((source) => source.paths),
        '/api/webhooks/:name',
        '/api/webhooks/:name/*',
      ]);
      const served = gw.gateway.app.routes
        .filter((r) => r.method !== 'ALL') // middleware (auth, headers), not endpoints
        .filter((r) => /^\/(api\/|metrics$|healthz$|readyz$)/.test(r.path) && !NOT_API.has(r.path))
        .filter((r) => !ingest.has(r.path))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m} ${path}`),
      );
      expect(served.length).toBeGreaterThan(10);
      expect([...new Set(served)].filter((route) => !documented.includes(route))).toEqual([]);
      for (const route of [
        'get /api/events/stream',
        'get /api/v1/webhooks/stream',
        'post /api/sps/poll',
        'get /metrics',
        'get /healthz',
        'get /readyz',
      ]) {
        expect(documented).toContain(route);
      }
    } finally {
      await gw.stop();
    }
  });
});

import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { InboundRequest } from '../../providers';
import { GatewayError, databaseUnavailable } from '../errors';
import type { EventStore } from '../store/events';
import type { PushSource } from './sources';

export interface IngestDeps {
  sources: readonly PushSource[];
  store: EventStore;
  logger: Logger;
  maxBodyBytes: number;
  maxAttempts: number;
  /** Called after an event is committed, to wake the worker. */
  onAccepted?: (id: number) => void;
}

/**
 * Ingest routes: raw body → verify → identify → insert … on conflict do nothing → 200.
 * The answer is sent only after the insert has committed; nothing is processed here.
 */
export function createIngestRoutes(deps: IngestDeps): Hono {
  const app = new Hono();
  const limit = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: () => {
      throw new GatewayError(413, 'payload_too_large', `Request body exceeds the limit of ${deps.maxBodyBytes} bytes`);
    },
  });

  for (const source of deps.sources) {
    const handle = ingestHandler(source, deps);
    for (const path of source.paths) {
      app.post(path, limit, handle);
      app.all(path, (c) =>
        c.json({ error: { code: 'method_not_allowed', message: 'Webhooks must be sent with POST' } }, 405, {
          allow: 'POST',
        }),
      );
    }
  }
  return app;
}

function ingestHandler(source: PushSource, deps: IngestDeps) {
  const prefix = source.paths[0]!.replace(/\/\*$/, '');
  return async (c: import('hono').Context) => {
    if (source.secrets.length === 0) {
      // Fail closed; 503 so the provider keeps retrying until an operator configures the secret.
      throw new GatewayError(503, 'source_not_configured', `Source ${source.name} has no verification secret configured`, {
        internal: false,
      });
    }
    const rawBody = Buffer.from(await c.req.arrayBuffer());
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const path = c.req.path;
    const request: InboundRequest = {
      rawBody,
      headers,
      subPath: path.startsWith(prefix) ? path.slice(prefix.length).replace(/^\/+/, '') : '',
    };

    source.provider.verify(request, source.secrets);
    const identity = source.provider.identify(request);

    const kept = Object.fromEntries(
      source.provider.keptHeaders.filter((name) => headers[name] !== undefined).map((name) => [name, headers[name]!]),
    );
    let result;
    try {
      result = await deps.store.insert({
        source: source.name,
        webhookId: identity.webhookId,
        topic: identity.topic,
        account: identity.account,
        body: rawBody,
        headers: kept,
        maxAttempts: deps.maxAttempts,
      });
    } catch (err) {
      throw databaseUnavailable(err);
    }
    if (result.status === 'accepted') {
      deps.logger.info({ source: source.name, topic: identity.topic, eventId: result.id }, 'event accepted');
      deps.onAccepted?.(result.id);
      return c.json({ status: 'accepted', id: result.id });
    }
    deps.logger.info({ source: source.name, webhookId: identity.webhookId }, 'duplicate acknowledged');
    return c.json({ status: 'duplicate' });
  };
}

import { eventDocument, type DocumentLookup } from '../routing/document';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { z } from '@hono/zod-openapi';
import { GatewayError, notFound } from '../errors';
import type { ConflictQueries } from '../store/conflicts';
import type { DeliveryLog } from '../store/deliveries';
import type { EventStore } from '../store/events';
import type { StatsQueries } from '../store/stats';
import { auditContext } from './audit-context';
import { limitBody, OPS_MAX_BODY_BYTES } from '../ingest/body-limit';
import { requireRole } from './auth';
import { toMatch } from './event-match';
import { createOpsApp } from './ops-app';
import type { AuditLog } from '../store/audit';
import { addStatsSeriesRoute, type SeriesDeps } from './stats-routes';
import {
  BulkReplayBody,
  BulkReplayResult,
  EventDetail,
  EventMatchQuery,
  EventPage,
  EventSummary,
  IdParam,
  ListQuery,
  Stats,
  errorResponses,
} from './schemas';
import { eventDetailJson, eventSummary } from './serialize';
import type { SourceMask } from './source-mask';

export interface OpsDeps {
  store: EventStore;
  deliveries: DeliveryLog;
  /** Counts an event's conflicting deliveries for its detail view. */
  conflicts?: Pick<ConflictQueries, 'countFor'>;
  stats: StatsQueries;
  audit: AuditLog;
  /** TRUST_PROXY: how the audit log finds the client's address. */
  trustedProxies: number;
  /** Tries a replay gives when the event's source sets no max_attempts of its own. */
  maxAttempts: number;
  /** Sources' own max_attempts (config file `retry.max_attempts`): a replay gives that many. */
  maxAttemptsBySource?: Readonly<Record<string, number>>;
  /** What the API hides of a source's events: masked paths, and identity and ordering key read from them. */
  maskFor: (source: string) => SourceMask;
  /** The source provider's documentOf (src/routing/document.ts): the payload shown for a wrapped body. */
  documentOf?: DocumentLookup;
  /**
   * Sources with masked fields: payload search (`q`) never looks at their bodies, and below admin a
   * `topic` or `webhook_id` filter does not match those reading it from a masked path. A function
   * when the list changes at runtime (database sources with `mask`).
   */
  maskedSources?: readonly string[] | (() => readonly string[]);
  /** Called after a replay made events due, to wake the worker. */
  onReplayed?: () => void;
  /** The charts' per-minute series; without it /api/stats/series is not served. */
  series?: SeriesDeps['series'];
}

const bearer = [{ opsToken: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** The ops API: find, inspect and replay events, and the stats behind the dashboard. */
export function createOpsRoutes(deps: OpsDeps): OpenAPIHono {
  const app = createOpsApp();
  const attempts = { bySource: deps.maxAttemptsBySource ?? {}, fallback: deps.maxAttempts };
  const viewer = requireRole('viewer');
  const operator = requireRole('operator');

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/events',
      middleware: viewer,
      summary: 'List events, newest first',
      security: bearer,
      request: { query: ListQuery },
      responses: { 200: json(EventPage, 'One page of events'), ...errorResponses },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const { match, notSearched } = toMatch(query, c.get('identity').role, deps);
      const page = await deps.store.list({
        ...match,
        beforeId: query.cursor ? Number(query.cursor) : undefined,
        limit: query.limit + 1,
      });
      const events = page.slice(0, query.limit);
      const next = page.length > query.limit ? String(events[events.length - 1]!.id) : null;
      const summaries = events.map((e) => eventSummary(e, deps.maskFor(e.source)));
      return c.json({ events: summaries, next_cursor: next, ...(notSearched && { not_searched: notSearched }) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/events/{id}',
      middleware: viewer,
      summary: 'One event with payload, headers, attempts and deliveries',
      security: bearer,
      request: { params: IdParam },
      responses: {
        200: json(EventDetail, 'The event'),
        404: json(errorResponses[400].content['application/json'].schema, 'No such event'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const event = await deps.store.get(id);
      if (!event) throw notFound('event_not_found', `No event with id ${id}`);
      const [attempts, deliveries, conflicts] = await Promise.all([
        deps.store.attempts(id),
        deps.deliveries.forEvent(id),
        deps.conflicts?.countFor(id) ?? 0,
      ]);
      // Built as text around the stored payload (c.json would round its numbers beyond 2^53); the
      // text has the EventDetail shape, which the typed route cannot see through a string body.
      const document = eventDocument(deps.documentOf, event);
      const text = eventDetailJson(event, attempts, deliveries, deps.maskFor(event.source), conflicts, document);
      return c.body(text, 200, { 'content-type': 'application/json' }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/events/{id}/replay',
      middleware: operator,
      summary: 'Make one event due again (history is kept; a failed event gets a fresh set of attempts)',
      security: bearer,
      request: { params: IdParam },
      responses: {
        200: json(EventSummary, 'The replayed event'),
        404: json(errorResponses[400].content['application/json'].schema, 'No such event'),
        409: json(errorResponses[400].content['application/json'].schema, 'The event is being processed'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await deps.store.replay(id, attempts);
      if (result.status === 'not_found') throw notFound('event_not_found', `No event with id ${id}`);
      if (result.status === 'processing') {
        throw new GatewayError(
          409,
          'event_processing',
          `Event ${id} is being processed right now; replay it when it has finished`,
        );
      }
      deps.onReplayed?.();
      await deps.audit.record({
        ...auditContext(c, deps.trustedProxies),
        action: 'event.replay',
        target: `event:${id}`,
        after: { status: result.event.status, max_attempts: result.event.maxAttempts },
      });
      return c.json(eventSummary(result.event, deps.maskFor(result.event.source)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/events/replay',
      middleware: [operator, limitBody(OPS_MAX_BODY_BYTES)],
      summary: 'Replay every event matching a filter: dry run (count) by default, then dry_run=false',
      security: bearer,
      request: { body: { content: { 'application/json': { schema: BulkReplayBody } }, required: true } },
      responses: { 200: json(BulkReplayResult, 'How many events matched and were replayed'), ...errorResponses },
    }),
    async (c) => {
      const { filter, dry_run } = c.req.valid('json');
      const { match, notSearched } = toMatch(filter, c.get('identity').role, deps);
      const skipped = notSearched && { not_searched: notSearched };
      const matched = await deps.store.countReplayable(match);
      if (dry_run) return c.json({ dry_run: true, matched, replayed: 0, ...skipped }, 200);
      const replayed = await deps.store.replayMatching(match, attempts);
      if (replayed > 0) deps.onReplayed?.();
      await deps.audit.record({
        ...auditContext(c, deps.trustedProxies),
        action: 'events.bulk_replay',
        target: 'events',
        after: { filter, matched, replayed },
      });
      return c.json({ dry_run: false, matched, replayed, ...skipped }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/stats',
      middleware: viewer,
      summary: 'Counts, success rate, latency percentiles, retries and queue depth',
      security: bearer,
      request: {
        query: EventMatchQuery.pick({ since: true }).openapi({ description: 'Window start; default 24 hours ago' }),
      },
      responses: { 200: json(Stats, 'Figures for the window'), ...errorResponses },
    }),
    async (c) => {
      const { since } = c.req.valid('query');
      return c.json(await (since ? deps.stats.stats(new Date(since)) : deps.stats.recent()), 200);
    },
  );
  if (deps.series) addStatsSeriesRoute(app, { series: deps.series });

  return app;
}

import { eventDocument, type DocumentLookup } from '../routing/document';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { AuditLogRow } from '../db/schema-access';
import type { SystemLogRow, WebhookEvent } from '../db/schema';
import { objectJson } from '../json/raw';
import { stringifyExact } from '../json/exact-values';
import type { AuditLog } from '../store/audit';
import type { EventStore } from '../store/events';
import type { SystemLog } from '../store/system-log';
import { AuditQuery, ExportFormat, SystemLogQuery } from './access-schemas';
import { requireRole } from './auth';
import { optionalDate } from './paging';
import { payloadView } from './payload-view';
import { toMatch } from './event-match';
import { EventMatchQuery, NOT_SEARCHED_HEADER, errorResponses } from './schemas';
import { eventSummary } from './serialize';
import type { SourceMask } from './source-mask';
import { csvBody, streamExport } from './export';
import { auditEntryJson, systemLogEntryJson } from './access-serialize';
import { systemLogFilter } from './system-log-routes';

// Each export's column list and its row mapping stand side by side, and the three exports
// (events, system log, audit) share one streaming spec (export.ts).

export interface ExportDeps {
  store: EventStore;
  systemLog: SystemLog;
  audit: AuditLog;
  logger: Logger;
  /** What the API hides of a source's events (src/ops/source-mask.ts). */
  maskFor: (source: string) => SourceMask;
  /** The source provider's documentOf (src/routing/document.ts): the payload shown for a wrapped body. */
  documentOf?: DocumentLookup;
  maskedSources?: readonly string[] | (() => readonly string[]);
}

const bearer = [{ opsToken: [] }];
const exportResponse = (what: string) => ({
  200: {
    description: `${what}, newest first: one JSON object a line (ndjson) or CSV with a header row`,
    content: {
      'application/x-ndjson': { schema: { type: 'string' as const } },
      'text/csv': { schema: { type: 'string' as const } },
    },
  },
  ...errorResponses,
});

const EVENT_COLUMNS = [
  'id',
  'source',
  'webhook_id',
  'account',
  'topic',
  'status',
  'attempts',
  'max_attempts',
  'last_error',
  'received_at',
  'processed_at',
  'size_bytes',
  'body_encoding',
  'body_masked',
  'body',
] as const;
const SYSTEM_LOG_COLUMNS = [
  'id',
  'occurred_at',
  'category',
  'event_type',
  'realm',
  'client_id',
  'user_id',
  'username',
  'ip_address',
  'error',
  'details',
  'source_event_id',
  'logged_at',
] as const;
const AUDIT_COLUMNS = [
  'id',
  'at',
  'actor',
  'action',
  'target',
  'before',
  'after',
  'request_id',
  'client_address',
] as const;

/** Pages of at most 100 events, fewer when their bodies would take over PAGE_BYTES (export.ts). */
const EVENT_PAGE = 100;
const LOG_PAGE = 500;

/**
 * Export routes for events, the system log and the audit log. Registered before the event
 * routes: /api/events/export must not be read as /api/events/{id}.
 */
export function addExportRoutes(app: OpenAPIHono, deps: ExportDeps): void {
  const onError = (err: unknown) => deps.logger.error({ err }, 'export failed');

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/events/export',
      summary: 'Export events matching the list filters (viewer): payload exactly as stored, masked fields masked',
      security: bearer,
      middleware: requireRole('viewer'),
      request: { query: EventMatchQuery.extend(ExportFormat.shape) },
      responses: {
        ...exportResponse('Events'),
        200: {
          ...exportResponse('Events')[200],
          headers: {
            [NOT_SEARCHED_HEADER]: {
              description:
                'The sources the filter left out, as JSON ({"sources":[…],"reason":"masked_identity"}); only when there are any',
              schema: { type: 'string' },
            },
          },
        },
      },
    }),
    (c) => {
      const query = c.req.valid('query');
      const { match, notSearched } = toMatch(query, c.get('identity').role, deps);
      // The body is rows only, so the sources left out are named in a header (the list's shape).
      if (notSearched) c.header(NOT_SEARCHED_HEADER, JSON.stringify(notSearched));
      const view = (e: WebhookEvent) =>
        payloadView(e.body, deps.maskFor(e.source).paths, eventDocument(deps.documentOf, e));
      return streamExport(c, {
        format: query.format,
        name: 'events',
        pageSize: EVENT_PAGE,
        sizes: (beforeId, limit) => deps.store.bodySizes({ ...match, beforeId, limit }),
        page: (beforeId, limit) => deps.store.list({ ...match, beforeId, limit }),
        json: (e) => objectJson({ ...eventSummary(e, deps.maskFor(e.source)), ...view(e) }),
        columns: EVENT_COLUMNS,
        cells: (e) => {
          const s = eventSummary(e, deps.maskFor(e.source));
          const body = csvBody(view(e).body);
          return [
            s.id,
            s.source,
            s.webhook_id,
            s.account,
            s.topic,
            s.status,
            s.attempts,
            s.max_attempts,
            s.last_error,
            s.received_at,
            s.processed_at,
            s.size_bytes,
            body.encoding,
            body.masked,
            body.data,
          ];
        },
        onError,
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/system-log/export',
      summary: 'Export the system log with the list filters (viewer)',
      security: bearer,
      middleware: requireRole('viewer'),
      request: { query: SystemLogQuery.extend(ExportFormat.shape) },
      responses: exportResponse('System log entries'),
    }),
    (c) => {
      const q = c.req.valid('query');
      const filter = systemLogFilter(q);
      return streamExport<SystemLogRow>(c, {
        format: q.format,
        name: 'system-log',
        pageSize: LOG_PAGE,
        page: (beforeId, limit) => deps.systemLog.list({ ...filter, beforeId, limit }),
        json: systemLogEntryJson,
        columns: SYSTEM_LOG_COLUMNS,
        cells: (r) => [
          r.id,
          r.occurredAt.toISOString(),
          r.category,
          r.eventType,
          r.realm,
          r.clientId,
          r.userId,
          r.username,
          r.ipAddress,
          r.error,
          r.details === null ? null : JSON.stringify(r.details),
          r.sourceEventId,
          r.loggedAt.toISOString(),
        ],
        onError,
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/audit/export',
      summary: 'Export the operator audit log with the list filters (admin)',
      security: bearer,
      middleware: requireRole('admin'),
      request: { query: AuditQuery.extend(ExportFormat.shape) },
      responses: exportResponse('Audit entries'),
    }),
    (c) => {
      const q = c.req.valid('query');
      const filter = {
        action: q.action,
        actor: q.actor,
        target: q.target,
        since: optionalDate(q.since),
        until: optionalDate(q.until),
      };
      return streamExport<AuditLogRow>(c, {
        format: q.format,
        name: 'audit-log',
        pageSize: LOG_PAGE,
        page: (beforeId, limit) => deps.audit.list({ ...filter, beforeId, limit }),
        json: auditEntryJson,
        columns: AUDIT_COLUMNS,
        cells: (r) => [
          r.id,
          r.at.toISOString(),
          r.actor,
          r.action,
          r.target,
          json(r.before),
          json(r.after),
          r.requestId,
          r.clientAddress,
        ],
        onError,
      }) as never;
    },
  );
}

/** A CSV cell's JSON: an audit state's exact numbers (LosslessNumber) written with their digits. */
const json = (value: unknown) => (value === null || value === undefined ? null : stringifyExact(value));

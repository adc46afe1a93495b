import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { alertRuleInput } from '../alerts/config';
import { notFound } from '../errors';
import { addChannelRoutes } from './alert-channel-routes';
import {
  AlertIdParam,
  AlertListQuery,
  AlertPage,
  AlertRule,
  AlertRuleBody,
  AlertRuleList,
  bearer,
  body,
  conflict,
  json,
  stale,
} from './alert-schemas';
import { alertJson, parse, ruleJson, ruleWritten, withoutVersion, type AlertRoutesDeps } from './alert-serialize';
import { limitBody, OPS_MAX_BODY_BYTES } from '../ingest/body-limit';
import { requireRole } from './auth';
import { ifMatch, setEtag, versionFrom } from './if-match';
import { readPage } from './paging';
import { createOpsApp } from './ops-app';
import { errorResponses } from './schemas';

export type { AlertRoutesDeps } from './alert-serialize';

const ruleNotFound = () => notFound('rule_not_found', 'No such alert rule; list them with GET /api/alerts/rules');

/** /api/alerts: the list of alerts, and rules and channels (writes need the admin gate). */
export function createAlertRoutes(deps: AlertRoutesDeps): OpenAPIHono {
  const app = createOpsApp();
  // Anyone who may read events may see alerts; rules and channels are configuration (admin).
  const read = requireRole('viewer');
  const admin = requireRole('admin');
  app.use('/api/alerts', read);
  app.use(
    '/api/alerts/*',
    async (c, next) => (c.req.method === 'GET' ? read(c, next) : admin(c, next)),
    limitBody(OPS_MAX_BODY_BYTES),
  );
  const store = deps.alerts;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/alerts',
      summary: 'List alerts, newest first',
      security: bearer,
      request: { query: AlertListQuery },
      responses: { 200: json(AlertPage, 'One page of alerts'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { page, nextCursor } = await readPage(q, (range) =>
        store.list({ status: q.status, rule: q.rule, ...range }),
      );
      return c.json({ alerts: page.map(alertJson), next_cursor: nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/alerts/rules',
      summary: 'List alert rules',
      security: bearer,
      responses: { 200: json(AlertRuleList, 'Every rule'), ...errorResponses },
    }),
    async (c) => c.json({ rules: (await store.rules()).map(ruleJson) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/alerts/rules',
      summary: 'Create an alert rule (admin)',
      security: bearer,
      request: body(AlertRuleBody),
      responses: { 201: json(AlertRule, 'The rule'), ...errorResponses, ...conflict },
    }),
    async (c) => {
      const rule = parse(alertRuleInput, await c.req.json());
      const { row } = ruleWritten(await store.writeRule(rule), rule.name);
      const view = ruleJson(row);
      await deps.audit?.(c, { action: 'alert_rule.create', target: `alert_rule:${row.name}`, after: view });
      setEtag(c, row.version);
      return c.json(view, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/alerts/rules/{id}',
      summary: 'One alert rule (ETag: its version)',
      security: bearer,
      request: { params: AlertIdParam },
      responses: { 200: json(AlertRule, 'The rule'), ...errorResponses, 404: { description: 'No such rule' } },
    }),
    async (c) => {
      const row = await store.rule(c.req.valid('param').id);
      if (!row) throw ruleNotFound();
      setEtag(c, row.version);
      return c.json(ruleJson(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/alerts/rules/{id}',
      summary: 'Replace an alert rule (admin); with If-Match, only if it is still at that version',
      security: bearer,
      request: { params: AlertIdParam, headers: ifMatch, ...body(AlertRuleBody) },
      responses: {
        200: json(AlertRule, 'The rule (ETag: its new version)'),
        ...errorResponses,
        404: { description: 'No such rule' },
        ...conflict,
        ...stale,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const ifVersion = versionFrom(c);
      const rule = parse(alertRuleInput, withoutVersion(await c.req.json()));
      const { row, before } = ruleWritten(await store.writeRule(rule, id, ifVersion), rule.name);
      const view = ruleJson(row);
      await deps.audit?.(c, {
        action: 'alert_rule.update',
        target: `alert_rule:${row.name}`,
        before: before && ruleJson(before),
        after: view,
      });
      setEtag(c, row.version);
      return c.json(view, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/alerts/rules/{id}',
      summary: 'Delete an alert rule and its alerts (admin); with If-Match, only if it is still at that version',
      security: bearer,
      request: { params: AlertIdParam, headers: ifMatch },
      responses: { 204: { description: 'Deleted' }, ...errorResponses, 404: { description: 'No such rule' }, ...stale },
    }),
    async (c) => {
      // The name is only for a name_taken answer, which a delete never gets.
      const { row: before } = ruleWritten(await store.removeRule(c.req.valid('param').id, versionFrom(c)), '');
      await deps.audit?.(c, {
        action: 'alert_rule.delete',
        target: `alert_rule:${before.name}`,
        before: ruleJson(before),
      });
      return c.body(null, 204);
    },
  );

  addChannelRoutes(app, deps);
  return app;
}

import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { z } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { alertChannelInput, alertRuleInput } from '../alerts/config';
import type { AlertStore } from '../alerts/store';
import { GatewayError, badRequest, notFound } from '../errors';
import {
  AlertChannel,
  AlertChannelBody,
  AlertChannelList,
  AlertIdParam,
  AlertListQuery,
  AlertPage,
  AlertRule,
  AlertRuleBody,
  AlertRuleList,
} from './alert-schemas';
import { alertJson, channelJson, ruleJson } from './alert-serialize';
import { requireRole } from './auth';
import { readPage } from './paging';
import { createOpsApp } from './routes';
import { errorResponses } from './schemas';

export interface AlertRoutesDeps {
  alerts: AlertStore;
}

const bearer = [{ opsToken: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
const conflict = { 409: { description: 'The name is taken, or the channel is still used by a rule' } };
const nameTaken = (what: string, name: string) =>
  new GatewayError(409, 'name_taken', `An alert ${what} named "${name}" exists; pick another name or change that one`);

/** /api/alerts: the list of alerts, and rules and channels (writes need the admin gate). */
export function createAlertRoutes(deps: AlertRoutesDeps): OpenAPIHono {
  const app = createOpsApp();
  // Anyone who may read events may see alerts; rules and channels are configuration (admin).
  const read = requireRole('viewer');
  const admin = requireRole('admin');
  app.use('/api/alerts', read);
  app.use('/api/alerts/*', async (c, next) => (c.req.method === 'GET' ? read(c, next) : admin(c, next)));
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
      await checkChannels(store, rule.channels);
      const row = await store.createRule(rule);
      if (!row) throw nameTaken('rule', rule.name);
      return c.json(ruleJson(row), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/alerts/rules/{id}',
      summary: 'Replace an alert rule (admin)',
      security: bearer,
      request: { params: AlertIdParam, ...body(AlertRuleBody) },
      responses: {
        200: json(AlertRule, 'The rule'),
        ...errorResponses,
        404: { description: 'No such rule' },
        ...conflict,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const rule = parse(alertRuleInput, await c.req.json());
      await checkChannels(store, rule.channels);
      const other = (await store.rules()).find((r) => r.name === rule.name && r.id !== id);
      if (other) throw nameTaken('rule', rule.name);
      const row = await store.updateRule(id, rule);
      if (!row) throw notFound('rule_not_found', `No alert rule ${id}; list them with GET /api/alerts/rules`);
      return c.json(ruleJson(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/alerts/rules/{id}',
      summary: 'Delete an alert rule and its alerts (admin)',
      security: bearer,
      request: { params: AlertIdParam },
      responses: { 204: { description: 'Deleted' }, ...errorResponses, 404: { description: 'No such rule' } },
    }),
    async (c) => {
      if (!(await store.deleteRule(c.req.valid('param').id)))
        throw notFound('rule_not_found', 'No such alert rule; list them with GET /api/alerts/rules');
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/alerts/channels',
      summary: 'List alert channels (secrets never shown)',
      security: bearer,
      responses: { 200: json(AlertChannelList, 'Every channel'), ...errorResponses },
    }),
    async (c) => c.json({ channels: (await store.channels()).map(channelJson) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/alerts/channels',
      summary: 'Create an alert channel (admin)',
      security: bearer,
      request: body(AlertChannelBody),
      responses: { 201: json(AlertChannel, 'The channel'), ...errorResponses, ...conflict },
    }),
    async (c) => {
      const channel = parse(alertChannelInput, await c.req.json());
      const row = await store.createChannel(channel);
      if (!row) throw nameTaken('channel', channel.name);
      return c.json(channelJson(row), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/alerts/channels/{id}',
      summary: 'Delete an alert channel no rule uses (admin)',
      security: bearer,
      request: { params: AlertIdParam },
      responses: {
        204: { description: 'Deleted' },
        ...errorResponses,
        404: { description: 'No such channel' },
        ...conflict,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const channel = (await store.channels()).find((ch) => ch.id === id);
      if (!channel)
        throw notFound('channel_not_found', `No alert channel ${id}; list them with GET /api/alerts/channels`);
      const users = await store.rulesUsing(channel.name);
      if (users.length > 0)
        throw new GatewayError(
          409,
          'channel_in_use',
          `Channel "${channel.name}" is used by rule(s) ${users.join(', ')}; remove it from them first`,
        );
      await store.deleteChannel(id);
      return c.body(null, 204);
    },
  );
  return app;
}

/** A body through the config file's own schema; every problem named by its field. */
function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = (result.error as ZodError).issues.map((i) =>
    i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message,
  );
  throw badRequest('invalid_request', issues.join('; '));
}

async function checkChannels(store: AlertStore, names: readonly string[]): Promise<void> {
  const found = new Set((await store.channelsNamed(names)).map((c) => c.name));
  const missing = names.filter((n) => !found.has(n));
  if (missing.length > 0)
    throw badRequest(
      'unknown_channel',
      `channels: no alert channel named ${missing.map((n) => `"${n}"`).join(', ')}; create it first (POST /api/alerts/channels)`,
    );
}

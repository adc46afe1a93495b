import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { alertChannelInput, type AlertChannelInput } from '../alerts/config';
import { GatewayError, badRequest, notFound } from '../errors';
import {
  AlertChannel,
  AlertChannelBody,
  AlertChannelList,
  AlertIdParam,
  bearer,
  body,
  conflict,
  json,
  stale,
} from './alert-schemas';
import type { ChannelWrite } from '../alerts/config-writes';
import { channelJson, nameTaken, parse, withoutVersion, type AlertRoutesDeps } from './alert-serialize';
import { ifMatch, setEtag, versionFrom, versionMismatch } from './if-match';
import { errorResponses } from './schemas';

const missing = (id: number) =>
  notFound('channel_not_found', `No alert channel ${id}; list them with GET /api/alerts/channels`);
const inUse = (name: string, users: string[], what: string) =>
  new GatewayError(409, 'channel_in_use', `Channel "${name}" is used by rule(s) ${users.join(', ')}; ${what}`);

/**
 * What a channel keeps when an edit leaves it out: never shown in full, so an edit cannot send it
 * back — the signing secret and the URL (whose query string may hold a token) of a webhook, the
 * URL of a Slack channel (the URL is the credential).
 */
const KEPT: Record<string, string[]> = { webhook: ['secret', 'url'], slack: ['url'] };

/**
 * A webhook or Slack URL whose host is an IP address the gateway refuses to connect to (the cloud
 * metadata address, link-local…): 400 now, rather than a failed notice when an alert opens. Only
 * the address is named: a Slack URL's path is its credential.
 */
function refuseUrl(deps: AlertRoutesDeps, channel: AlertChannelInput): void {
  const refusal = 'url' in channel ? deps.outbound?.urlRefusal(channel.url) : undefined;
  if (refusal) throw badRequest('invalid_request', `url: ${refusal}`);
}

/** /api/alerts/channels: list, create, replace and delete (writes are admin, checked by the caller's middleware). */
export function addChannelRoutes(app: OpenAPIHono, deps: AlertRoutesDeps): void {
  const store = deps.alerts;
  const target = (name: string) => `alert_channel:${name}`;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/alerts/channels',
      summary: 'List alert channels (secrets never shown, only their fingerprints)',
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
      refuseUrl(deps, channel);
      const row = await store.createChannel(channel);
      if (!row) throw nameTaken('channel', channel.name);
      const view = channelJson(row);
      await deps.audit?.(c, { action: 'alert_channel.create', target: target(row.name), after: view });
      setEtag(c, row.version);
      return c.json(view, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/alerts/channels/{id}',
      summary: 'One alert channel (ETag: its version; secrets never shown, only their fingerprints)',
      security: bearer,
      request: { params: AlertIdParam },
      responses: { 200: json(AlertChannel, 'The channel'), ...errorResponses, 404: { description: 'No such channel' } },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await store.channel(id);
      if (!row) throw missing(id);
      setEtag(c, row.version);
      return c.json(channelJson(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/alerts/channels/{id}',
      summary:
        'Replace an alert channel (admin); leave out secret or url to keep the current one; with If-Match, only if it is still at that version',
      security: bearer,
      request: { params: AlertIdParam, headers: ifMatch, ...body(AlertChannelBody) },
      responses: {
        200: json(AlertChannel, 'The channel (ETag: its new version)'),
        ...errorResponses,
        404: { description: 'No such channel' },
        ...conflict,
        ...stale,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const ifVersion = versionFrom(c);
      const input = withoutVersion(await c.req.json());
      const newUrl = input.url !== undefined;
      // Merged into the stored row, locked until written: an edit cannot write back a secret
      // another admin (or instance) replaced after this one read the channel.
      const result = await store.replaceChannel(
        id,
        (current) => {
          const edit = { ...input };
          // Secrets are never shown, so an edit that does not change one leaves it out.
          if (edit.type === current.type)
            for (const key of KEPT[current.type] ?? []) if (edit[key] === undefined) edit[key] = current.config[key];
          const channel = parse(alertChannelInput, edit);
          // A kept URL was checked when it was set; a stricter policy since then shows on its notices.
          if (newUrl) refuseUrl(deps, channel);
          return channel;
        },
        ifVersion,
      );
      const { before, row } = written(result, id, input.name, 'rename it there first or keep its name');
      const view = channelJson(row!);
      await deps.audit?.(c, {
        action: 'alert_channel.update',
        target: target(row!.name),
        before: channelJson(before),
        after: view,
      });
      setEtag(c, row!.version);
      return c.json(view, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/alerts/channels/{id}',
      summary: 'Delete an alert channel no rule uses (admin); with If-Match, only if it is still at that version',
      security: bearer,
      request: { params: AlertIdParam, headers: ifMatch },
      responses: {
        204: { description: 'Deleted' },
        ...errorResponses,
        404: { description: 'No such channel' },
        ...conflict,
        ...stale,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { before } = written(
        await store.removeChannel(id, versionFrom(c)),
        id,
        undefined,
        'remove it from them first',
      );
      await deps.audit?.(c, {
        action: 'alert_channel.delete',
        target: target(before.name),
        before: channelJson(before),
      });
      return c.body(null, 204);
    },
  );
}

/** A channel write's rows, or the error that says why it was refused. */
function written(result: ChannelWrite, id: number, name: unknown, whatToDo: string) {
  if (result.status === 'done') return result;
  if (result.status === 'missing') throw missing(id);
  if (result.status === 'stale') throw versionMismatch(`Alert channel "${result.name}"`, result.version);
  if (result.status === 'in_use') throw inUse(result.name, result.users, whatToDo);
  throw nameTaken('channel', String(name));
}

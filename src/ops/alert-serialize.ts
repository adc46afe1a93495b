import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ZodError } from 'zod';
import { describeIssues } from '../validation/issue-list';
import type { RuleWrite } from '../alerts/config-writes';
import type { AlertStore, AlertWithRule } from '../alerts/store';
import { describeChannel } from '../alerts/channel-view';
import type { AlertChannelRow, AlertRuleRow } from '../db/schema-alerts';
import { GatewayError, badRequest, notFound } from '../errors';
import type { Alert, AlertChannel, AlertRule } from './alert-schemas';
import { versionMismatch } from './if-match';
import type { OutboundPolicy } from '../outbound/policy';

/** A change to a rule or channel, for the operator audit log (views only: never a secret). */
export interface AlertChange {
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

export interface AlertRoutesDeps {
  alerts: AlertStore;
  /** Records each change in the operator audit log (src/store/audit.ts). */
  audit?: (c: Context, change: AlertChange) => Promise<void>;
  /** Checks a channel URL given in a request: a host that is a refused IP address is answered 400. */
  outbound?: OutboundPolicy;
}

export const nameTaken = (what: string, name: string) =>
  new GatewayError(409, 'name_taken', `An alert ${what} named "${name}" exists; pick another name or change that one`);

/** A body through the config file's own schema; every problem named by its field. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw badRequest('invalid_request', describeIssues((result.error as ZodError).issues));
}

/**
 * A PUT body without the `version` a GET answered: a rule read, edited and sent back whole was
 * accepted before rules had versions and still is. Only If-Match guards a write.
 */
export function withoutVersion(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body as Record<string, unknown>;
  const { version: _version, ...rest } = body as Record<string, unknown>;
  return rest;
}

/** A rule write's row, or the error that says why it was refused. */
export function ruleWritten(result: RuleWrite, name: string): Extract<RuleWrite, { status: 'done' }> {
  if (result.status === 'done') return result;
  if (result.status === 'name_taken') throw nameTaken('rule', name);
  if (result.status === 'missing')
    throw notFound('rule_not_found', 'No such alert rule; list them with GET /api/alerts/rules');
  if (result.status === 'stale') throw versionMismatch(`Alert rule "${result.name}"`, result.version);
  throw badRequest(
    'unknown_channel',
    `channels: no alert channel named ${result.names.map((n) => `"${n}"`).join(', ')}; create it first (POST /api/alerts/channels)`,
  );
}

export function alertJson(a: AlertWithRule): z.infer<typeof Alert> {
  return {
    id: a.id,
    rule: a.ruleName,
    kind: a.ruleKind as z.infer<typeof Alert>['kind'],
    condition: a.conditionKey,
    status: a.status,
    summary: a.summary,
    opened_at: a.openedAt.toISOString(),
    resolved_at: a.resolvedAt?.toISOString() ?? null,
    opened_notified_at: a.openedNotifiedAt?.toISOString() ?? null,
    resolved_notified_at: a.resolvedNotifiedAt?.toISOString() ?? null,
    notify_error: a.notifyError,
  };
}

export function ruleJson(r: AlertRuleRow): z.infer<typeof AlertRule> {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    params: r.params,
    channels: r.channels,
    enabled: r.enabled,
    version: r.version,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

/**
 * Never the secret, never a URL's path (Slack, Discord and Teams webhook URLs carry their
 * credential there), never a query string. The fingerprints (the first 12 hex digits of the
 * SHA-256, as for source secrets) tell whether the secret or the URL changed — what `apply -f`
 * compares — without revealing them (src/alerts/channel-view.ts).
 */
export function channelJson(ch: AlertChannelRow): z.infer<typeof AlertChannel> {
  const shown = describeChannel(ch.type, ch.config as Parameters<typeof describeChannel>[1]);
  return {
    id: ch.id,
    name: ch.name,
    type: ch.type,
    target: shown.target,
    has_secret: shown.hasSecret,
    secret_fingerprint: shown.secretFingerprint,
    url_fingerprint: shown.urlFingerprint,
    version: ch.version,
    created_at: ch.createdAt.toISOString(),
  };
}

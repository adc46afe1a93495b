import type { z } from '@hono/zod-openapi';
import type { AlertWithRule } from '../alerts/store';
import type { AlertChannelRow, AlertRuleRow } from '../db/schema-alerts';
import type { Alert, AlertChannel, AlertRule } from './alert-schemas';

/** An alert as the ops API shows it. */
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

/** A rule as the ops API shows it. */
export function ruleJson(r: AlertRuleRow): z.infer<typeof AlertRule> {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    params: r.params,
    channels: r.channels,
    enabled: r.enabled,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

/** Never the secret, never a Slack URL's path (it is the credential), never a query string. */
export function channelJson(ch: AlertChannelRow): z.infer<typeof AlertChannel> {
  const config = ch.config as { url?: string; secret?: string; to?: string[] };
  let target = (config.to ?? []).join(', ');
  if (config.url) {
    const url = new URL(config.url);
    target = ch.type === 'slack' ? `${url.origin}/…` : `${url.origin}${url.pathname}`;
  }
  return {
    id: ch.id,
    name: ch.name,
    type: ch.type,
    target,
    has_secret: Boolean(config.secret),
    created_at: ch.createdAt.toISOString(),
  };
}

import type { ApiTokenRow, AuditLogRow } from '../db/schema-access';
import type { SystemLogRow } from '../db/schema';
import { stringifyExact } from '../json/exact-values';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A token as listed: never the token or its hash. */
export const tokenView = (t: ApiTokenRow) => ({
  name: t.name,
  role: t.role,
  prefix: t.prefix,
  created_at: t.createdAt.toISOString(),
  expires_at: iso(t.expiresAt),
  last_used_at: iso(t.lastUsedAt),
  revoked_at: iso(t.revokedAt),
});

/** An audit entry as answered; before/after may hold LosslessNumbers: write it with stringifyExact. */
export const auditEntryView = (r: AuditLogRow) => ({
  id: r.id,
  at: r.at.toISOString(),
  actor: r.actor,
  action: r.action,
  target: r.target,
  before: r.before ?? null,
  after: r.after ?? null,
  request_id: r.requestId,
  client_address: r.clientAddress,
});
export const auditEntryJson = (r: AuditLogRow) => stringifyExact(auditEntryView(r));

export const systemLogEntryJson = (r: SystemLogRow) =>
  JSON.stringify({
    id: r.id,
    occurred_at: r.occurredAt.toISOString(),
    category: r.category,
    event_type: r.eventType,
    realm: r.realm,
    client_id: r.clientId,
    user_id: r.userId,
    username: r.username,
    ip_address: r.ipAddress,
    error: r.error,
    details: r.details ?? null,
    source_event_id: r.sourceEventId,
    logged_at: r.loggedAt.toISOString(),
  });

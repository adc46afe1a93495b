import { readKeycloakEvent } from '../../providers/keycloak-event';
import { payloadView } from '../ops/payload-view';
import type { SystemLog } from '../store/system-log';
import type { EventHandler } from '../worker/handlers';

const AUDITED_USER_EVENTS = new Set(['LOGIN', 'LOGIN_ERROR', 'LOGOUT']);

/**
 * Writes Keycloak logins, failed logins, logouts and admin operations to system_log: who (user id
 * and name), realm, client, IP, error and when, from any of the formats keycloak-event.ts reads.
 * Other Keycloak events are stored but not audited. `mask`: the source's masked paths. The system
 * log is shown to viewers, so it is written from the body as the ops API shows it: a masked field
 * is "[masked]" there too (a body that cannot be masked is not audited).
 */
export function keycloakAuditHandler(systemLog: SystemLog, mask: readonly string[] = []): EventHandler {
  return async (stored) => {
    // The bytes, parsed here: the fields read are plain strings and a millisecond time.
    const shown = mask.length > 0 ? Buffer.from(payloadView(stored.rawBody, mask).body.data) : stored.rawBody;
    const parsed = parseObject(shown);
    if (!parsed) return;
    const e = readKeycloakEvent(parsed);
    if (e.kind === 'unknown' || (e.kind === 'user' && !AUDITED_USER_EVENTS.has(e.type))) return;
    await systemLog.record({
      occurredAt: e.time !== undefined ? new Date(e.time) : stored.receivedAt,
      category: 'keycloak',
      eventType: e.kind === 'admin' ? `ADMIN_${e.type}` : e.type,
      realm: e.realm ?? null,
      clientId: e.clientId ?? null,
      userId: e.userId ?? null,
      username: e.username ?? null,
      ipAddress: e.ipAddress ?? null,
      error: e.error ?? null,
      details: compact({
        details: e.details,
        resourceType: e.resourceType,
        resourcePath: e.resourcePath,
        sessionId: e.sessionId,
        authRealm: e.authRealm,
      }),
      sourceEventId: stored.id,
    });
  };
}

function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function compact(fields: Record<string, unknown>): Record<string, unknown> | null {
  const kept = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return Object.keys(kept).length > 0 ? kept : null;
}

import { keycloakRealm, keycloakTopic } from '../../providers/keycloak';
import type { SystemLog } from '../store/system-log';
import type { EventHandler } from '../worker/handlers';

const AUDITED_USER_EVENTS = new Set(['LOGIN', 'LOGIN_ERROR', 'LOGOUT']);

/**
 * Writes Keycloak logins, failed logins, logouts and admin operations to system_log: who, realm,
 * client, IP, error and when. Other Keycloak events are stored but not audited.
 */
export function keycloakAuditHandler(systemLog: SystemLog): EventHandler {
  return async (event) => {
    const payload = event.payload;
    if (typeof payload !== 'object' || payload === null) return;
    const e = payload as Record<string, unknown>;
    const topic = keycloakTopic(e);
    const isAdmin = topic.startsWith('admin.');
    if (!isAdmin && !AUDITED_USER_EVENTS.has(topic)) return;
    const who = (isAdmin ? (e.authDetails ?? {}) : e) as Record<string, unknown>;
    await systemLog.record({
      occurredAt: toDate(e.time) ?? event.receivedAt,
      category: 'keycloak',
      eventType: isAdmin ? `ADMIN_${String(e.operationType)}` : topic,
      realm: keycloakRealm(e) ?? null,
      clientId: text(who.clientId),
      userId: text(who.userId),
      ipAddress: text(who.ipAddress),
      error: text(e.error),
      details: pick(e, ['details', 'resourceType', 'resourcePath', 'sessionId']),
      sourceEventId: event.id,
    });
  };
}

const text = (value: unknown) => (typeof value === 'string' && value ? value : null);

function toDate(value: unknown): Date | undefined {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  const date = new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> | null {
  const picked = Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
  return Object.keys(picked).length > 0 ? picked : null;
}

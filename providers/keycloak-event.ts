/**
 * The Keycloak event formats real listeners send, read into one shape. Each was taken from the
 * sender's own serialisation (fixtures and their sources: test/fixtures/keycloak/README.md):
 *
 * - Keycloak's own `Event` / `AdminEvent` (and `EventRepresentation` / `AdminEventRepresentation`):
 *   user events flat (`type: "LOGIN"`, `clientId`, `userId`, `ipAddress`, `details.username`);
 *   admin events with `operationType`, `resourceType` and the actor under `authDetails`.
 * - p2-inc/keycloak-events `ext-event-webhook` (ExtendedAdminEvent): one class for both kinds,
 *   `type` prefixed (`access.LOGIN`, `admin.USER-CREATE`), the actor always under `authDetails`
 *   (with `username` and `sessionId`), `realmName`, and `uid` per webhook delivery.
 * - vymalo/keycloak-webhook (WebhookPayload): flat for both kinds; admin events have
 *   `type: "<RESOURCE>-<OPERATION>"` and the actor's client, user and IP at the top level.
 */
export interface KeycloakEvent {
  kind: 'user' | 'admin' | 'unknown';
  /** User events: the EventType name (LOGIN, LOGIN_ERROR…). Admin events: the operation (CREATE…). */
  type: string;
  /** Admin events: USER, CLIENT, REALM_ROLE… when the sender says. */
  resourceType?: string;
  resourcePath?: string;
  /** The realm the event happened in: its name when the sender gives one, else its id. */
  realm?: string;
  /** Admin events: the realm the acting admin authenticated in, when it differs. */
  authRealm?: string;
  clientId?: string;
  userId?: string;
  username?: string;
  ipAddress?: string;
  sessionId?: string;
  error?: string;
  /** Epoch milliseconds. */
  time?: number;
  details?: Record<string, unknown>;
  /** p2's per-delivery id, else Keycloak's event id. */
  deliveryId?: string;
}

/** Keycloak's admin OperationType values; vymalo writes admin types as <RESOURCE>-<OPERATION>. */
const ADMIN_TYPE = /^([A-Z][A-Z0-9_]*)-(CREATE|UPDATE|DELETE|ACTION)$/;

const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);
const object = (value: unknown) =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** Reads any of the formats above; fields a format does not carry are undefined. */
export function readKeycloakEvent(e: Record<string, unknown>): KeycloakEvent {
  const auth = object(e.authDetails) ?? {};
  const details = object(e.details);
  const rawType = text(e.type);
  let kind: KeycloakEvent['kind'] = 'unknown';
  let type = rawType ?? 'unknown';
  let resourceType = text(e.resourceType);
  if (rawType?.startsWith('access.')) {
    kind = 'user';
    type = rawType.slice('access.'.length);
  } else if (rawType?.startsWith('admin.') || text(e.operationType) || (rawType && ADMIN_TYPE.test(rawType))) {
    kind = 'admin';
    const composite = ADMIN_TYPE.exec(rawType?.replace(/^admin\./, '') ?? '');
    type = text(e.operationType) ?? composite?.[2] ?? type;
    resourceType ??= composite?.[1];
  } else if (rawType) {
    kind = 'user';
  }
  const realm = text(e.realmName) ?? text(e.realmId) ?? text(auth.realmId);
  const authRealm = kind === 'admin' ? (text(auth.realmName) ?? text(auth.realmId)) : undefined;
  return {
    kind,
    type,
    resourceType,
    resourcePath: text(e.resourcePath),
    realm,
    authRealm: authRealm !== realm ? authRealm : undefined,
    clientId: text(auth.clientId) ?? text(e.clientId),
    userId: text(auth.userId) ?? text(e.userId),
    // In admin events details.username is the user acted upon (p2 adds it), not the actor.
    username: text(auth.username) ?? (kind === 'user' ? text(details?.username) : undefined),
    ipAddress: text(auth.ipAddress) ?? text(e.ipAddress),
    sessionId: text(auth.sessionId) ?? text(e.sessionId),
    error: text(e.error),
    time: epochMillis(e.time),
    details,
    deliveryId: text(e.uid) ?? text(e.id),
  };
}

/**
 * The topic an event is stored under: the user event type (LOGIN), or admin.<RESOURCE>-<OPERATION>
 * (p2's own naming, admin.USER-CREATE), or admin.<OPERATION> when no resource type is sent.
 */
export function keycloakTopic(event: KeycloakEvent): string {
  if (event.kind === 'admin') return `admin.${event.resourceType ? `${event.resourceType}-` : ''}${event.type}`;
  return event.type;
}

/** A time as Keycloak and the extensions write it: epoch milliseconds, as a number or digits. */
function epochMillis(value: unknown): number | undefined {
  const n =
    typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

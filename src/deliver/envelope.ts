import type { DeliveredEvent } from '../worker/handlers';

export const ENVELOPE_SCHEMA_VERSION = '1.0';

/** The canonical envelope every destination receives, whatever the provider. */
export interface Envelope {
  event_type: string;
  aggregate_id: string | null;
  schema_version: string;
  timestamp: string;
  source_service: string;
  dedupe_key: string;
  data: unknown;
  tenant_context?: Record<string, unknown>;
}

/**
 * Where each provider keeps the id of the thing the event is about (order, shipment, user…).
 * A source can override it with a dotted path (`aggregate_id_path`).
 */
const AGGREGATE_ID_PATHS: Record<string, string[]> = {
  shopify: ['admin_graphql_api_id', 'id'],
  easypost: ['result.id'],
  stripe: ['data.object.id'],
  github: ['repository.full_name'],
  keycloak: ['userId', 'authDetails.userId'],
  'standard-webhooks': ['data.id'],
  'sps-rest': ['purchase_orders.0.purchase_order_number'],
  'sps-sftp': ['purchase_orders.0.purchase_order_number'],
};

/** Builds the envelope for an event. `provider` picks the default aggregate id location. */
export function buildEnvelope(
  event: DeliveredEvent,
  options: { provider?: string; aggregateIdPath?: string; tenantContext?: Record<string, unknown> } = {},
): Envelope {
  const data = event.payload ?? { raw_base64: event.rawBody.toString('base64') };
  const paths = options.aggregateIdPath ? [options.aggregateIdPath] : (AGGREGATE_ID_PATHS[options.provider ?? ''] ?? []);
  const aggregate = paths.map((path) => readPath(data, path)).find((v) => typeof v === 'string' || typeof v === 'number');
  return {
    event_type: event.topic,
    aggregate_id: aggregate === undefined ? null : String(aggregate),
    schema_version: ENVELOPE_SCHEMA_VERSION,
    timestamp: event.receivedAt.toISOString(),
    source_service: event.source,
    dedupe_key: `${event.source}:${event.webhookId}`,
    data,
    ...(options.tenantContext ? { tenant_context: options.tenantContext } : {}),
  };
}

/** Reads a dotted path ("result.id") from parsed JSON; undefined when any step is missing. */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

import { isLosslessNumber } from 'lossless-json';
import { isJson, readExactJson, utf8Text, type ExactJson } from '../json/read';
import { RawJson, objectJson } from '../json/raw';
import type { DeliveredEvent } from '../worker/handlers';

export const ENVELOPE_SCHEMA_VERSION = '1.0';

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

export interface EnvelopeOptions {
  provider?: string;
  aggregateIdPath?: string;
  tenantContext?: Record<string, unknown>;
}

/**
 * The canonical envelope every destination receives, whatever the provider, as JSON text:
 * `{"event_type","aggregate_id","schema_version","timestamp","source_service","dedupe_key","data",
 * "tenant_context"?}`. `data` is the payload's own JSON text, embedded byte for byte — never parsed
 * and re-serialised, which would round numbers beyond 2^53 and rewrite escapes. A body that is not
 * JSON (or not UTF-8) travels as `{"raw_base64": "…"}`. The check is V8's iterative JSON.parse, so
 * a body nested 200,000 levels deep is still delivered verbatim.
 */
/** What an envelope is built from: a delivered event, or an arrival `listen` read from the stream. */
export type EnvelopeSource = Pick<
  DeliveredEvent,
  'source' | 'webhookId' | 'topic' | 'rawBody' | 'payload' | 'receivedAt'
>;

export function buildEnvelope(event: EnvelopeSource, options: EnvelopeOptions = {}): string {
  const text = utf8Text(event.rawBody);
  const json = text !== undefined && isJson(text) ? text : undefined;
  const paths = options.aggregateIdPath
    ? [options.aggregateIdPath]
    : (AGGREGATE_ID_PATHS[options.provider ?? ''] ?? []);
  return objectJson({
    event_type: event.topic,
    aggregate_id: json === undefined ? null : aggregateId(event, paths),
    schema_version: ENVELOPE_SCHEMA_VERSION,
    timestamp: event.receivedAt.toISOString(),
    source_service: event.source,
    dedupe_key: `${event.source}:${event.webhookId}`,
    data: json === undefined ? { raw_base64: event.rawBody.toString('base64') } : new RawJson(json),
    tenant_context: options.tenantContext,
  });
}

/**
 * The first path holding a string or a number, as a string: a number as its exact digits
 * ("820982911946154508", never 820982911946154500). Looked up in the plain parse (cheap, and exact
 * for strings); a number is then read again with lossless-json. When that is impossible (nesting
 * beyond MAX_JSON_DEPTH, a repeated key) the id is null rather than a rounded one.
 */
function aggregateId(event: EnvelopeSource, paths: readonly string[]): string | null {
  let exact: ExactJson | undefined;
  for (const path of paths) {
    const value = readPath(event.payload, path);
    if (typeof value === 'string') return value;
    if (typeof value !== 'number') continue;
    exact ??= readExactJson(event.rawBody);
    const number = exact.ok ? readPath(exact.value, path) : undefined;
    return isLosslessNumber(number) ? number.value : null;
  }
  return null;
}

/** Reads a dotted path ("result.id", "items.0.id") from parsed JSON; undefined when any step is missing. */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

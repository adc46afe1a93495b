import type { DeliveryAttemptRow, ProcessingLogRow, WebhookEvent } from '../db/schema';
import { maskPaths } from './mask';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Header names whose values are never shown, whatever a provider module decided to keep. */
const SENSITIVE_HEADER = /authorization|cookie|signature|hmac|token|secret|api-key|password/i;

/** The list view of an event: everything but the body. */
export function eventSummary(e: WebhookEvent) {
  return {
    id: e.id,
    source: e.source,
    webhook_id: e.webhookId,
    account: e.account,
    topic: e.topic,
    status: e.status,
    attempts: e.attempts,
    max_attempts: e.maxAttempts,
    next_attempt_at: e.status === 'received' ? iso(e.nextAttemptAt) : null,
    locked_by: e.lockedBy,
    locked_at: iso(e.lockedAt),
    last_error: e.lastError,
    received_at: iso(e.receivedAt)!,
    processed_at: iso(e.processedAt),
    size_bytes: e.body.length,
  };
}

/**
 * The detail view: summary, kept headers (sensitive ones redacted), the payload with the source's
 * masked fields replaced, and every processing and delivery attempt. With masking configured the
 * raw body is shown only as the masked JSON, never verbatim.
 */
export function eventDetail(
  e: WebhookEvent,
  attempts: ProcessingLogRow[],
  deliveries: DeliveryAttemptRow[],
  mask: readonly string[] = [],
) {
  const text = e.body.toString('utf8');
  const isUtf8 = Buffer.from(text, 'utf8').equals(e.body);
  const parsed = isUtf8 ? parseJson(text) : undefined;
  const payload = parsed === undefined ? null : maskPaths(parsed, mask);
  let body: { encoding: 'utf8' | 'base64'; data: string; masked: boolean };
  if (mask.length > 0 && parsed !== undefined) body = { encoding: 'utf8', data: JSON.stringify(payload), masked: true };
  else if (mask.length > 0) body = { encoding: 'utf8', data: '[masked: body is not JSON]', masked: true };
  else if (isUtf8) body = { encoding: 'utf8', data: text, masked: false };
  else body = { encoding: 'base64', data: e.body.toString('base64'), masked: false };

  return {
    ...eventSummary(e),
    headers: Object.fromEntries(
      Object.entries(e.headers).map(([name, value]) => [name, SENSITIVE_HEADER.test(name) ? '[redacted]' : value]),
    ),
    payload,
    body,
    attempt_log: attempts.map((a) => ({
      attempt: a.attempt,
      worker: a.worker,
      started_at: iso(a.startedAt)!,
      finished_at: iso(a.finishedAt),
      duration_ms: a.finishedAt ? a.finishedAt.getTime() - a.startedAt.getTime() : null,
      outcome: a.outcome,
      error: a.error,
    })),
    deliveries: deliveries.map((d) => ({
      destination: d.destination,
      attempt: d.attempt,
      started_at: iso(d.startedAt)!,
      duration_ms: d.durationMs,
      outcome: d.outcome,
      http_status: d.httpStatus,
      error: d.error,
    })),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

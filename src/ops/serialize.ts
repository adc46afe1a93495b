import type { EventConflict, ProcessingLogRow } from '../db/schema';
import type { DeliveryAttemptRow } from '../db/schema-deliveries';
import type { EventView } from '../store/claims';
import { objectJson } from '../json/raw';
import { payloadView } from './payload-view';
import { shown, type SourceMask } from './source-mask';
import { shownHeaders } from './shown-headers';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The list view of an event: everything but the body. `mask`: what the source hides
 * (src/ops/source-mask.ts): the webhook id, topic, account and ordering key are "[masked]" when
 * read from a masked path (the no-key lane stays "").
 */
export function eventSummary(e: EventView, mask: SourceMask) {
  return {
    id: e.id,
    source: e.source,
    webhook_id: shown(e.webhookId, mask.webhookId),
    account: shown(e.account, mask.account),
    topic: shown(e.topic, mask.topic),
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
    // Per-key ordering (docs/ordering.md), named as in the issue #16 contract.
    orderingKey: shown(e.orderingKey, mask.orderingKey),
    blockedBy: e.blockedBy,
  };
}

/** The list view of a conflicting delivery: everything but the body (its webhook id hidden as the event's is). */
export function conflictSummary(c: EventConflict, mask: SourceMask) {
  return {
    id: c.id,
    event_id: c.eventId,
    event_href: `/api/events/${c.eventId}`,
    source: c.source,
    webhook_id: shown(c.webhookId, mask.webhookId),
    received_at: iso(c.receivedAt)!,
    content_sha256: c.contentHash.toString('hex'),
    size_bytes: c.bodySize,
  };
}

/** A conflicting delivery with its headers and bytes, shown like an event's (masked the same way). */
export const conflictDetailJson = (c: EventConflict, mask: SourceMask, document?: Buffer) =>
  objectJson({
    ...conflictSummary(c, mask),
    headers: shownHeaders(c.headers),
    ...payloadView(c.body, mask.paths, document),
  });

/**
 * The detail view: summary, kept headers (sensitive ones redacted), the payload as sent with the
 * source's masked fields replaced (see payloadView), and every processing and delivery attempt.
 * With masking configured the raw body is shown only masked, never verbatim.
 */
export function eventDetail(
  e: EventView,
  attempts: ProcessingLogRow[],
  deliveries: DeliveryAttemptRow[],
  mask: SourceMask,
  conflictCount = 0,
  /** The JSON the body carries (src/routing/document.ts), when it is not the body. */
  document?: Buffer,
) {
  return {
    ...eventSummary(e, mask),
    headers: shownHeaders(e.headers),
    request_target: e.requestTarget ?? null,
    ...payloadView(e.body, mask.paths, document),
    attempt_log: attempts.map((a) => ({
      attempt: a.attempt,
      worker: a.worker,
      started_at: iso(a.startedAt)!,
      finished_at: iso(a.finishedAt),
      duration_ms: a.finishedAt ? a.finishedAt.getTime() - a.startedAt.getTime() : null,
      outcome: a.outcome,
      error: a.error,
      transform_version: a.transformVersion,
    })),
    conflicts: { count: conflictCount, href: `/api/conflicts?event_id=${e.id}` },
    deliveries: deliveries.map((d) => ({
      destination: d.destination,
      attempt: d.attempt,
      started_at: iso(d.startedAt)!,
      duration_ms: d.durationMs,
      outcome: d.outcome,
      http_status: d.httpStatus,
      error: d.error,
      rule_version: d.ruleVersion,
    })),
  };
}

/**
 * The detail view as JSON text, with the payload embedded verbatim: JSON.parse and JSON.stringify
 * would round numbers beyond 2^53 (820982911946154508 became 820982911946154500).
 */
export const eventDetailJson = (...args: Parameters<typeof eventDetail>) => objectJson(eventDetail(...args));

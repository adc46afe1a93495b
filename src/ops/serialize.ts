import type { ProcessingLogRow, WebhookEvent } from '../db/schema';

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
    next_attempt_at: e.status === 'received' ? e.nextAttemptAt : null,
    locked_by: e.lockedBy,
    locked_at: e.lockedAt,
    last_error: e.lastError,
    received_at: e.receivedAt,
    processed_at: e.processedAt,
    size_bytes: e.body.length,
  };
}

/** The detail view: summary, kept headers, the body (as JSON when it parses) and every attempt. */
export function eventDetail(e: WebhookEvent, attempts: ProcessingLogRow[]) {
  const text = e.body.toString('utf8');
  const isUtf8 = Buffer.from(text, 'utf8').equals(e.body);
  return {
    ...eventSummary(e),
    headers: e.headers,
    payload: isUtf8 ? parseJson(text) : undefined,
    body: isUtf8 ? { encoding: 'utf8', data: text } : { encoding: 'base64', data: e.body.toString('base64') },
    attempt_log: attempts.map((a) => ({
      attempt: a.attempt,
      worker: a.worker,
      started_at: a.startedAt,
      finished_at: a.finishedAt,
      duration_ms: a.finishedAt ? a.finishedAt.getTime() - a.startedAt.getTime() : null,
      outcome: a.outcome,
      error: a.error,
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

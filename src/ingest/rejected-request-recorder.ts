import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { NewRejectedRequest, RejectionAggregate } from '../store/rejected-requests';

export interface RejectedRequestRecorderOptions {
  /** Writes one batch (src/store/rejected-requests.ts). */
  write(entries: readonly NewRejectedRequest[], aggregates: readonly RejectionAggregate[]): Promise<void>;
  logger: Logger;
  /** Detailed rows per source, cause and minute; beyond it requests are only counted. */
  perMinute: number;
  /** Detailed rows waiting for the next write; beyond it requests are dropped (and counted). */
  bufferSize: number;
  flushIntervalMs: number;
  /** Observes requests left out of the log. */
  onNotRecorded?: (reason: 'dropped' | 'write_failed', count: number) => void;
}

/** What the ingest routes know about a rejected request. */
export interface RejectedRequest {
  source: string;
  cause: string;
  status: number;
  client: string;
  userAgent: string | undefined;
  /** The body when it was read; otherwise its declared length, if any. */
  body: Buffer | undefined;
  declaredBytes: number | undefined;
  /** Already redacted (src/ingest/redact-headers.ts); built only when the row is kept. */
  headers: () => Record<string, string>;
}

export interface RejectedRequestRecorder {
  record(request: RejectedRequest): void;
  /** Writes what is buffered now (tests, shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The rejected-request log, kept off the request path: `record` only counts and appends to an
 * in-memory buffer; a timer writes the buffer in one batch. The first `perMinute` requests of a
 * source and cause in a minute are kept in full (redacted headers, body size and SHA-256); the
 * rest become one aggregate row per source, cause and minute whose count grows with each batch.
 * When the buffer is full a request is dropped and counted. So a flood costs a map lookup per
 * request and a bounded number of rows per minute, whatever its rate.
 */
export function createRejectedRequestRecorder(options: RejectedRequestRecorderOptions): RejectedRequestRecorder {
  let buffer: NewRejectedRequest[] = [];
  let overflow = new Map<string, RejectionAggregate>();
  // Kept rows per source/cause in the current minute; reset when the minute changes.
  let minuteStart = currentMinute();
  let keptThisMinute = new Map<string, number>();
  let writing: Promise<void> | undefined;

  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  function record(request: RejectedRequest): void {
    const minute = currentMinute();
    if (minute !== minuteStart) {
      minuteStart = minute;
      keptThisMinute = new Map();
    }
    // Any sender may invent source names: all unknown ones share one cap and one aggregate row,
    // so random names cost no more keys or rows than one source does.
    const bucket = request.cause === UNKNOWN_SOURCE ? UNKNOWN_SOURCE_BUCKET : request.source;
    const key = `${bucket}\u0000${request.cause}`;
    const kept = keptThisMinute.get(key) ?? 0;
    if (kept >= options.perMinute) {
      const aggregateKey = `${key}\u0000${minute}`;
      const aggregate = overflow.get(aggregateKey);
      if (aggregate) aggregate.count += 1;
      else
        overflow.set(aggregateKey, {
          minute: new Date(minute),
          source: bucket,
          cause: request.cause,
          status: request.status,
          count: 1,
        });
      return;
    }
    if (buffer.length >= options.bufferSize) {
      options.onNotRecorded?.('dropped', 1);
      return;
    }
    keptThisMinute.set(key, kept + 1);
    buffer.push({
      receivedAt: new Date(),
      source: printable(request.source, MAX_SOURCE_CHARS),
      cause: request.cause,
      status: request.status,
      client: request.client || null,
      userAgent: request.userAgent?.slice(0, 200) ?? null,
      bodyBytes: request.body?.length ?? request.declaredBytes ?? null,
      bodySha256: request.body ? createHash('sha256').update(request.body).digest('hex') : null,
      headers: request.headers(),
    });
  }

  async function flush(): Promise<void> {
    // One write at a time: a slow database delays the log, never stacks up writes.
    if (writing) return writing;
    if (buffer.length === 0 && overflow.size === 0) return;
    const entries = buffer;
    const aggregates = [...overflow.values()];
    buffer = [];
    overflow = new Map();
    writing = options
      .write(entries, aggregates)
      .catch((err: unknown) => {
        const lost = entries.length + aggregates.reduce((n, a) => n + a.count, 0);
        options.onNotRecorded?.('write_failed', lost);
        options.logger.warn({ cause: err, lost }, 'rejected-request log: batch not written');
      })
      .finally(() => {
        writing = undefined;
      });
    return writing;
  }

  return {
    record,
    async flush() {
      await writing;
      await flush();
    },
    async stop() {
      clearInterval(timer);
      await writing;
      await flush();
    },
  };
}

/** The cause of a request to /api/webhooks/<name> with no such source. */
export const UNKNOWN_SOURCE = 'unknown_source';
/** The source of the aggregate row counting requests to unknown sources beyond the cap. */
export const UNKNOWN_SOURCE_BUCKET = '*';
/** Longest source name kept: a made-up one can be as long as the request line allows. */
const MAX_SOURCE_CHARS = 64;

/** At most `max` characters, printable ASCII only (a decoded path may hold NUL, which text columns refuse). */
function printable(text: string, max: number): string {
  return text.slice(0, max).replace(/[^\x20-\x7e]/g, '?');
}

function currentMinute(): number {
  return Math.floor(Date.now() / 60_000) * 60_000;
}

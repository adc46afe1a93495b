import { z } from 'zod';
import { decimalNumber, MAX_TIMER_MS, positiveInt, timerMs, timerSeconds, wholeNumber } from './fields';

/** The largest MAX_BODY_BYTES accepted. */
export const MAX_BODY_BYTES_CEILING = 256 * 1024 * 1024;

/**
 * INGEST_BODY_BUDGET_BYTES when unset (or MAX_BODY_BYTES, when larger): as much as the group-commit
 * queue holds waiting for the database (src/store/group-commit.ts). Webhooks are KiB; 10,000
 * requests/s of 5 KiB each, answered within 10 ms, hold half a MiB. 64 MiB leaves room for bursts
 * of large bodies while bounding what unauthenticated senders can make the process hold.
 */
export const DEFAULT_INGEST_BODY_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * INGEST_BODY_WAIT_MS when unset. GitHub, whose bodies reach 25 MB, never retries and gives a
 * delivery 10 s in all: a 25 MB delivery took 1.0 s alone and 2.4–3.3 s two at a time on loopback
 * (PostgreSQL), so with 3 s of waiting three or four sent at once to the default 64 MiB budget were
 * all accepted (within 1.9 and 3.2 s) where the third and fourth had been refused, and a waiter
 * keeps most of GitHub's 10 s for its upload and commit.
 */
export const DEFAULT_INGEST_BODY_WAIT_MS = 3000;

// The HTTP side: listener, request limits, slow and abusive clients, and the rejected-request log.

export const webVariables = z.object({
  PORT: wholeNumber(z.number().max(65535)).default(3000),
  HOST: z.string().default('0.0.0.0'),
  // Bodies are held in memory whole and sent to PostgreSQL in one parameter (1 GB at most, and
  // group commit puts several in one statement): a larger limit could only fail later, or take the
  // process's memory with a few concurrent requests.
  MAX_BODY_BYTES: wholeNumber(
    z
      .number()
      .positive()
      .max(MAX_BODY_BYTES_CEILING, {
        error: `must be at most ${MAX_BODY_BYTES_CEILING} (256 MiB): a larger body cannot be stored`,
      }),
  ).default(1024 * 1024),
  /** Ingest body bytes held in memory at once, over all connections (src/ingest/body-budget.ts). */
  INGEST_BODY_BUDGET_BYTES: wholeNumber(z.number().positive().max(Number.MAX_SAFE_INTEGER)).optional(),
  /** How long a request whose declared body does not fit waits for room before 503 (0: not at all). */
  INGEST_BODY_WAIT_MS: wholeNumber(z.number().max(MAX_TIMER_MS)).default(DEFAULT_INGEST_BODY_WAIT_MS),
  /** Most requests waiting for room at once; more are refused at once. */
  INGEST_BODY_WAIT_QUEUE: wholeNumber().default(32),
  /** Bytes a live-stream WebSocket client may leave unread before it is disconnected. */
  STREAM_CLIENT_BUFFER_BYTES: positiveInt(4 * 1024 * 1024),
  RATE_LIMIT_PER_SECOND: decimalNumber().default(0),
  RATE_LIMIT_BURST: wholeNumber().default(0),
  UNVERIFIED_RATE_LIMIT_PER_SECOND: decimalNumber().default(0),
  UNVERIFIED_RATE_LIMIT_BURST: wholeNumber().default(0),
  /** How many reverse proxies in front of the gateway append to X-Forwarded-For (0: ignore the header). */
  TRUST_PROXY: wholeNumber(z.number().max(10)).default(0),
  MAX_CONNECTIONS: positiveInt(1000),
  REJECTION_LOG_LIMIT: wholeNumber().default(10),
  REJECTION_LOG_INTERVAL_SECONDS: timerSeconds(60),
  REJECTED_REQUESTS_PER_MINUTE: wholeNumber().default(20),
  REJECTED_REQUESTS_BUFFER: positiveInt(1000),
  REJECTED_REQUESTS_RETENTION_DAYS: positiveInt(7),
  REQUEST_TIMEOUT_MS: timerMs(30_000),
  HEADERS_TIMEOUT_MS: timerMs(10_000),
});

export type WebEnv = z.infer<typeof webVariables>;

export interface WebSettings {
  port: number;
  host: string;
  maxBodyBytes: number;
  /**
   * Ingest body bytes held in memory at once over all connections, before each is committed or
   * refused; a request that does not fit waits (ingestBodyWait), then gets 503 ingest_busy. At
   * least maxBodyBytes.
   */
  ingestBodyBudgetBytes: number;
  /** How long, and how many, requests whose declared body does not fit may wait for room (src/ingest/body-budget.ts). */
  ingestBodyWait: { waitMs: number; maxWaiting: number };
  /** Bytes a live-stream WebSocket client may leave unread before it is disconnected (1008). */
  streamClientBufferBytes: number;
  /** Default per-source ingest rate limit (per process); undefined = unlimited. */
  rateLimit?: { perSecond: number; burst: number };
  /** Slow-client protection: whole request, and headers alone. */
  timeouts: { requestMs: number; headersMs: number };
  /** Per client address, for ingest requests that fail verification; undefined = unlimited. */
  unverifiedRateLimit?: { perSecond: number; burst: number };
  /** Reverse proxies whose X-Forwarded-For entries are trusted (0: the socket address is the client). */
  trustProxy: number;
  /** Most open connections to the HTTP server; more are closed as soon as they are accepted. */
  maxConnections: number;
  /** Rejected ingest requests logged per source and reason per interval; the rest are counted. */
  rejectionLog: { limit: number; intervalMs: number };
  /**
   * The rejected-request log: rows kept per source, cause and minute (the rest aggregated), the
   * in-memory buffer between batch writes, the batch interval and the retention.
   */
  rejectedRequests: { perMinute: number; bufferSize: number; flushIntervalMs: number; retentionDays: number };
}

/** The web settings from their validated variables. */
export function webSettings(e: WebEnv): WebSettings {
  return {
    port: e.PORT,
    host: e.HOST,
    maxBodyBytes: e.MAX_BODY_BYTES,
    ingestBodyBudgetBytes: e.INGEST_BODY_BUDGET_BYTES ?? Math.max(DEFAULT_INGEST_BODY_BUDGET_BYTES, e.MAX_BODY_BYTES),
    ingestBodyWait: { waitMs: e.INGEST_BODY_WAIT_MS, maxWaiting: e.INGEST_BODY_WAIT_QUEUE },
    streamClientBufferBytes: e.STREAM_CLIENT_BUFFER_BYTES,
    rateLimit:
      e.RATE_LIMIT_PER_SECOND > 0
        ? { perSecond: e.RATE_LIMIT_PER_SECOND, burst: e.RATE_LIMIT_BURST || Math.ceil(e.RATE_LIMIT_PER_SECOND) }
        : undefined,
    timeouts: { requestMs: e.REQUEST_TIMEOUT_MS, headersMs: e.HEADERS_TIMEOUT_MS },
    unverifiedRateLimit:
      e.UNVERIFIED_RATE_LIMIT_PER_SECOND > 0
        ? {
            perSecond: e.UNVERIFIED_RATE_LIMIT_PER_SECOND,
            burst: e.UNVERIFIED_RATE_LIMIT_BURST || Math.ceil(e.UNVERIFIED_RATE_LIMIT_PER_SECOND),
          }
        : undefined,
    trustProxy: e.TRUST_PROXY,
    maxConnections: e.MAX_CONNECTIONS,
    rejectionLog: { limit: e.REJECTION_LOG_LIMIT, intervalMs: e.REJECTION_LOG_INTERVAL_SECONDS * 1000 },
    rejectedRequests: {
      perMinute: e.REJECTED_REQUESTS_PER_MINUTE,
      bufferSize: e.REJECTED_REQUESTS_BUFFER,
      flushIntervalMs: 1000,
      retentionDays: e.REJECTED_REQUESTS_RETENTION_DAYS,
    },
  };
}

/**
 * A burst set without its rate: the limit is off (rate 0), so the burst was silently ignored by a
 * gateway whose operator believed ingest limited.
 */
export function burstWithoutRateProblems(e: WebEnv): string[] {
  return (['RATE_LIMIT', 'UNVERIFIED_RATE_LIMIT'] as const).flatMap((limit) =>
    e[`${limit}_BURST`] > 0 && e[`${limit}_PER_SECOND`] === 0
      ? [
          `${limit}_BURST (${e[`${limit}_BURST`]}) is set but ${limit}_PER_SECOND is not, so there is no limit: set ${limit}_PER_SECOND too, or unset ${limit}_BURST`,
        ]
      : [],
  );
}

/**
 * Says what is wrong when the ingest body budget cannot take one body of the largest size: such a
 * body would be refused with 503 on every retry, for ever.
 */
export function bodyBudgetProblem(
  settings: Pick<WebSettings, 'maxBodyBytes' | 'ingestBodyBudgetBytes'>,
): string | undefined {
  if (settings.ingestBodyBudgetBytes >= settings.maxBodyBytes) return undefined;
  return `INGEST_BODY_BUDGET_BYTES (${settings.ingestBodyBudgetBytes}) must be at least MAX_BODY_BYTES (${settings.maxBodyBytes}): a body of the largest accepted size must fit, or it is refused on every retry`;
}

import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { EventStore } from '../store/events';
import type { BodyBudget } from './body-budget';
import { refuseContentCoding } from './content-coding';
import { guardFailures } from './failure-guard';
import { observeAnswer } from './observe-answer';
import { createFailureLimiter, createSourceBuckets, type RateLimit } from './rate-limit';
import type { RejectedRequestRecorder } from './rejected-request-recorder';
import type { RejectionLog } from './rejection-log';
import { refuseMethod, resolveSource } from './resolve-source';
import type { PushSource } from './sources';
import { limitSourceBody } from './source-body-limit';
import { traceIngest } from './trace';
import { verifyHeadFirst } from './verification';
import { verifyAndStore } from './verify-and-store';

/** Where ingest finds a source per request: the control plane's registry snapshot (src/control/registry.ts). */
export interface SourceLookup {
  resolve(name: string): PushSource | undefined;
  /** At start-up: sources with fixed paths outside /api/webhooks/ (Keycloak's /api/keycloak/events). */
  all(): readonly PushSource[];
}

export interface IngestDeps {
  sources: SourceLookup;
  /** Writes a verified event and resolves after its commit (the group-commit batcher; see src/store/group-commit.ts). */
  store: Pick<EventStore, 'insert'>;
  logger: Logger;
  /** MAX_BODY_BYTES: the body limit of sources without their own max_body_bytes. */
  maxBodyBytes: number;
  /** Body bytes all ingest requests together may hold (INGEST_BODY_BUDGET_BYTES); unset: unbounded. */
  bodyBudget?: BodyBudget;
  maxAttempts: number;
  /**
   * Longest wait for the insert before answering 503. postgres.js queues queries while it cannot
   * connect (30 queued queries took 35 s to fail against a refused port); the sender should hear
   * "retry later" within its own timeout instead. A late commit is harmless: the retry is a duplicate.
   */
  writeTimeoutMs: number;
  /** Called after an event is committed and left due (not handed off to this process's worker), to wake the worker. */
  onAccepted?: (id: number) => void;
  /** Called with every insert that failed or timed out (a newer schema is noticed from these). */
  onInsertFailed?: (err: unknown) => void;
  /** Observes every answer (metrics): outcome, rejection code, seconds from request to answer. */
  onAnswered?: (source: string, outcome: IngestOutcome, reason: string, seconds: number) => void;
  /** Per client address, for requests that fail before verification (unset: unlimited). */
  unverifiedRateLimit?: RateLimit;
  /** Reverse proxies in front of the gateway whose X-Forwarded-For entries are trusted (TRUST_PROXY). */
  trustedProxies?: number;
  /** Logs rejected requests, rate-limited. */
  rejections?: RejectionLog;
  /** Records rejected requests in the database, buffered and capped (GET /api/requests). */
  rejectedRequests?: RejectedRequestRecorder;
}

export type IngestOutcome = 'accepted' | 'duplicate' | 'conflict' | 'rejected';

/**
 * Ingest routes: raw body → verify → identify → insert … on conflict do nothing → 200.
 * The answer is sent only after the insert has committed; nothing is processed here.
 * Each request runs one fixed chain, built once here: source, trace, outcome, failure guard,
 * head check and body limit, then verify and store; each step lives in its own module.
 */
export function createIngestRoutes(deps: IngestDeps): Hono {
  const app = new Hono();
  // A compressed body is refused after the credential headers (a 401 still comes first), before it is read.
  const limit = verifyHeadFirst(deps, refuseContentCoding(limitSourceBody(deps.maxBodyBytes, deps.bodyBudget)));
  const failures = deps.unverifiedRateLimit ? createFailureLimiter(deps.unverifiedRateLimit) : undefined;
  const guard: MiddlewareHandler[] = failures ? [guardFailures(failures)] : [];
  const observe = observeAnswer(deps);
  const handle = verifyAndStore(deps, createSourceBuckets());
  // The span names the source, known only once the request is resolved.
  const traced: MiddlewareHandler = (c, next) => traceIngest(c.get('pushSource').name)(c, next);

  // The source is looked up per request, so sources created, changed or deleted at runtime take
  // effect without re-mounting anything.
  const mount = (path: string, nameOf: (c: Context) => string, subPath: boolean) => {
    const resolve = resolveSource(deps, nameOf, subPath);
    app.post(path, resolve, traced, observe, ...guard, limit, handle);
    app.all(path, resolve, refuseMethod(deps));
  };
  const prefix = '/api/webhooks/';
  for (const source of deps.sources.all()) {
    for (const path of source.paths.filter((p) => !p.startsWith(prefix))) mount(path, () => source.name, false);
  }
  mount(`${prefix}:name`, (c) => c.req.param('name')!, false);
  mount(`${prefix}:name/*`, (c) => c.req.param('name')!, true);
  return app;
}

declare module 'hono' {
  interface ContextVariableMap {
    ingestOutcome: 'accepted' | 'duplicate' | 'conflict';
    /** The stored event's id, once accepted. */
    eventId: number;
    /** Rate-limit key of the client (src/ingest/client-address.ts). */
    clientAddress: string;
    /** The request's source, from the registry snapshot. */
    pushSource: PushSource;
    /** Set once the provider verified the request. */
    verified: boolean;
    /** The request body once read (for the rejected-request log's size and hash). */
    rawBody: Buffer;
  }
}

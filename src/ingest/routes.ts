import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { InboundRequest } from '../../providers';
import { describeDatabaseError, isDataError } from '../db/errors';
import { GatewayError, badRequest, databaseUnavailable, unauthorized } from '../errors';
import type { EventStore } from '../store/events';
import type { BodyBudget } from './body-budget';
import { limitBody } from './body-limit';
import { clientAddress } from './client-address';
import { checkIdentity, checkNonce, normaliseIdentity } from './identity-limits';
import {
  createFailureLimiter,
  createTokenBucket,
  sourceRateLimited,
  tooManyFailures,
  type FailureLimiter,
  type RateLimit,
  type TokenBucket,
} from './rate-limit';
import { redactHeaders } from './redact-headers';
import { storedHeaders } from './request-headers';
import { storedRequestTarget } from './request-target';
import { UNKNOWN_SOURCE, type RejectedRequestRecorder } from './rejected-request-recorder';
import type { RejectionLog } from './rejection-log';
import type { PushSource } from './sources';
import { traceIngest } from './trace';
import { withDeadline } from './deadline';
import { verificationInput, verifyHeadFirst } from './verification';
import { shown } from '../ops/source-mask';

// One file over 250 lines on purpose: the ingest pipeline (source, limits, verify, identify, store)
// is one fixed sequence per request, read top to bottom; each step's own logic is in the modules it imports.

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
 */
export function createIngestRoutes(deps: IngestDeps): Hono {
  const app = new Hono();
  const limit = verifyHeadFirst(deps, limitBody(deps.maxBodyBytes, deps.bodyBudget));
  const failures = deps.unverifiedRateLimit ? createFailureLimiter(deps.unverifiedRateLimit) : undefined;
  const guard: MiddlewareHandler[] = failures ? [guardFailures(failures)] : [];
  const observe = observeAnswer(deps);
  const handle = ingestHandler(deps, createBuckets());
  // The span names the source, known only once the request is resolved.
  const traced: MiddlewareHandler = (c, next) => traceIngest(c.get('pushSource').name)(c, next);

  // The source is looked up per request, so sources created, changed or deleted at runtime take
  // effect without re-mounting anything.
  const mount = (path: string, nameOf: (c: Context) => string, subPath: boolean) => {
    const resolve = resolveSource(deps, nameOf, subPath);
    app.post(path, resolve, traced, observe, ...guard, limit, handle);
    app.all(path, resolve, (c) =>
      c.json({ error: { code: 'method_not_allowed', message: 'Webhooks must be sent with POST' } }, 405, {
        allow: 'POST',
      }),
    );
  };
  const prefix = '/api/webhooks/';
  for (const source of deps.sources.all()) {
    for (const path of source.paths.filter((p) => !p.startsWith(prefix))) mount(path, () => source.name, false);
  }
  mount(`${prefix}:name`, (c) => c.req.param('name')!, false);
  mount(`${prefix}:name/*`, (c) => c.req.param('name')!, true);
  return app;
}

/**
 * Finds the request's source; an unknown one (or a sub-path its provider does not take) is 404.
 * An unknown name also goes to the rejected-request log (cause unknown_source): a sender still
 * posting to a deleted or misspelt source shows up there. The recorder caps all unknown names
 * together, so random names cannot fill the log.
 */
function resolveSource(deps: IngestDeps, nameOf: (c: Context) => string, subPath: boolean): MiddlewareHandler {
  return async (c, next) => {
    const name = nameOf(c);
    const source = deps.sources.resolve(name);
    if (!source || (subPath && !source.paths.some((p) => p.endsWith('/*')))) {
      if (!source) recordUnknownSource(deps, c, name);
      return c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404);
    }
    c.set('pushSource', source);
    await next();
  };
}

function recordUnknownSource(deps: IngestDeps, c: Context, name: string): void {
  deps.rejectedRequests?.record({
    source: name,
    cause: UNKNOWN_SOURCE,
    status: 404,
    client: clientAddress(c, deps.trustedProxies ?? 0),
    userAgent: c.req.header('user-agent'),
    body: undefined,
    declaredBytes: declaredLength(c),
    headers: () => redactHeaders(c.req.raw.headers),
  });
}

/** The request's Content-Length, when it is a valid one. */
function declaredLength(c: Context): number | undefined {
  const declared = Number(c.req.header('content-length'));
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

/**
 * One token bucket per source, kept while its limit stays the same (a registry refresh builds new
 * source objects; the bucket must not refill because of that).
 */
function createBuckets() {
  const buckets = new Map<string, { limit: RateLimit; bucket: TokenBucket }>();
  return (source: PushSource): TokenBucket | undefined => {
    const limit = source.rateLimit;
    if (!limit) return undefined;
    const kept = buckets.get(source.name);
    if (kept && kept.limit.perSecond === limit.perSecond && kept.limit.burst === limit.burst) return kept.bucket;
    const bucket = createTokenBucket(limit);
    buckets.set(source.name, { limit, bucket });
    return bucket;
  };
}

/**
 * Reports each answer's outcome (errors thrown further down surface as c.error after next()): to
 * the metrics, and rejections to the rate-limited rejection log.
 */
function observeAnswer(deps: IngestDeps): MiddlewareHandler {
  return async (c, next) => {
    const source = c.get('pushSource').name;
    const started = performance.now();
    c.set('clientAddress', clientAddress(c, deps.trustedProxies ?? 0));
    await next();
    const seconds = (performance.now() - started) / 1000;
    if (c.error) {
      const reason = c.error instanceof GatewayError ? c.error.code : 'internal_error';
      const status = c.error instanceof GatewayError ? c.error.status : 500;
      deps.onAnswered?.(source, 'rejected', reason, seconds);
      deps.rejections?.rejected({ source, reason, status, client: c.get('clientAddress') });
      deps.rejectedRequests?.record({
        source,
        cause: reason,
        status,
        client: c.get('clientAddress'),
        userAgent: c.req.header('user-agent'),
        body: c.get('rawBody'),
        declaredBytes: declaredLength(c),
        headers: () => redactHeaders(c.req.raw.headers),
      });
    } else {
      deps.onAnswered?.(source, c.get('ingestOutcome') ?? 'accepted', 'ok', seconds);
    }
  };
}

/**
 * Before the body is read: an address whose requests keep failing verification waits (429). After
 * the answer: a 4xx given before the request was verified (bad or missing signature, body too
 * large) counts against its address. Verified requests never do, whatever their answer.
 */
function guardFailures(failures: FailureLimiter): MiddlewareHandler {
  return async (c, next) => {
    const address = c.get('clientAddress');
    const wait = failures.blockedFor(address);
    if (wait > 0) throw tooManyFailures(wait);
    await next();
    const error = c.error;
    if (error instanceof GatewayError && error.status >= 400 && error.status < 500 && !c.get('verified')) {
      failures.failed(address);
    }
  };
}

function ingestHandler(deps: IngestDeps, bucketFor: (source: PushSource) => TokenBucket | undefined) {
  return async (c: Context) => {
    const source = c.get('pushSource');
    const { head, secrets } = verificationInput(c, deps.logger);
    const rawBody = Buffer.from(await c.req.arrayBuffer());
    c.set('rawBody', rawBody);
    const { headers, path, query } = head;
    const request: InboundRequest = { ...head, rawBody };

    const verification = await source.provider.verify(request, secrets);
    c.set('verified', true);
    const identity = normaliseIdentity(source.provider.identify(request, verification));
    checkIdentity(identity);
    checkNonce(verification.nonce);
    // Only verified requests spend the source's tokens: nobody without a credential can use them up.
    const wait = bucketFor(source)?.take() ?? 0;
    if (wait > 0) throw sourceRateLimited(source.name, source.rateLimit!, wait);

    const kept = storedHeaders(source.provider.keptHeaders, headers);
    let result;
    try {
      result = await withDeadline(
        deps.writeTimeoutMs,
        deps.store.insert({
          source: source.name,
          webhookId: identity.webhookId,
          topic: identity.topic,
          account: identity.account,
          body: rawBody,
          headers: kept,
          maxAttempts: source.maxAttempts ?? deps.maxAttempts,
          nonce: verification.nonce?.value,
          requestTarget: storedRequestTarget(path, query, source.provider.credentialQueryParams),
          // Computed once, here, from the request as received (docs/ordering.md).
          ordering: source.orderingOf?.(rawBody, headers),
        }),
      );
    } catch (err) {
      // A value the database refuses fails the same way on every retry: the sender's 400, not a 503.
      if (isDataError(err)) {
        throw badRequest(
          'unstorable_event',
          `The database refused a value of this event (${describeDatabaseError(err)}); it cannot be stored as sent`,
        );
      }
      throw databaseUnavailable(err);
    }
    // Logs carry the identity only when it was not read from a masked payload path ("[masked]").
    const logged = source.logMask;
    const webhookId = shown(identity.webhookId, logged?.webhookId ?? false);
    if (result.status === 'replayed') {
      deps.logger.warn({ source: source.name, webhookId }, 'replayed nonce refused');
      throw unauthorized(
        'nonce_replayed',
        `Nonce in ${verification.nonce!.header} was already used; every delivery needs a fresh nonce`,
      );
    }
    if (result.status === 'accepted') {
      deps.logger.debug(
        { source: source.name, topic: shown(identity.topic, logged?.topic ?? false), eventId: result.id },
        'event accepted',
      );
      if (!result.claimed) deps.onAccepted?.(result.id);
      c.set('ingestOutcome', 'accepted');
      c.set('eventId', result.id);
      return c.json({ status: 'accepted', id: result.id });
    }
    if (result.status === 'conflict') {
      // Same key, other bytes: stored as a conflict of the original, so a 200 the sender must not
      // retry. Logged at warn: the sender reuses ids for different content, an operator should know.
      deps.logger.warn({ source: source.name, webhookId, eventId: result.eventId }, 'conflicting copy stored');
      c.set('ingestOutcome', 'conflict');
      return c.json({ status: 'conflict', event_id: result.eventId });
    }
    deps.logger.debug({ source: source.name, webhookId }, 'duplicate acknowledged');
    c.set('ingestOutcome', 'duplicate');
    return c.json({ status: 'duplicate' });
  };
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

import { GatewayError } from '../errors';
import type { PushSource } from './sources';

export interface RateLimit {
  /** Sustained requests per second. */
  perSecond: number;
  /** Requests allowed at once above the sustained rate. */
  burst: number;
}

export interface TokenBucket {
  /** Takes a token: 0 when one was there, else the whole seconds until one is back (Retry-After). */
  take(): number;
  /** Seconds until a token is there (0: now), without taking one. */
  wait(): number;
}

type Clock = () => number;
const monotonic: Clock = performance.now.bind(performance);

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export function createTokenBucket(limit: RateLimit, now: Clock = monotonic): TokenBucket {
  let tokens = limit.burst;
  let last = now();
  const refill = () => {
    const t = now();
    tokens = Math.min(limit.burst, tokens + ((t - last) / 1000) * limit.perSecond);
    last = t;
  };
  const secondsUntilToken = () => (tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / limit.perSecond)));
  return {
    take() {
      refill();
      const wait = secondsUntilToken();
      if (wait === 0) tokens -= 1;
      return wait;
    },
    wait() {
      refill();
      return secondsUntilToken();
    },
  };
}

/** The 429 for a source over its limit. Every major provider retries it later: nothing is lost. */
export const sourceRateLimited = (source: string, limit: RateLimit, retryAfter: number) =>
  new GatewayError(
    429,
    'rate_limited',
    `Source ${source} is over its rate limit of ${limit.perSecond} requests/s; retry later`,
    {
      headers: { 'retry-after': String(retryAfter) },
    },
  );

/**
 * One token bucket per source, kept while its limit stays the same (a registry refresh builds new
 * source objects; the bucket must not refill because of that).
 */
export function createSourceBuckets() {
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
 * Addresses tracked at most. An entry is a few hundred bytes, so the cap keeps the limiter under a
 * few MB whatever a flood does; past it the least recently seen address is forgotten (a client
 * with more addresses than this gets fresh buckets — the limit of any per-address scheme).
 */
export const MAX_TRACKED_ADDRESSES = 10_000;

export interface FailureLimiter {
  /** Seconds this address must wait before it may send again (0: go ahead). */
  blockedFor(address: string): number;
  /** Counts one request from this address that failed before it was verified. */
  failed(address: string): void;
  /** How many addresses are tracked now (bounded by `maxTracked`). */
  readonly tracked: number;
}

/**
 * Token buckets per client address for requests that fail verification. A source's own bucket is
 * spent only by verified requests, so nobody without a credential can use it up and lock the real
 * sender out; an address that keeps failing is refused (429) before its body is even read. A
 * failure is counted when it is answered: requests in flight together are all let through (at most
 * MAX_CONNECTIONS), which keeps a genuine sender's concurrency unlimited. A Map
 * in insertion order is the LRU: a touched entry moves to the end, the first one is the oldest.
 */
export function createFailureLimiter(
  limit: RateLimit,
  options: { maxTracked?: number; now?: Clock } = {},
): FailureLimiter {
  const maxTracked = options.maxTracked ?? MAX_TRACKED_ADDRESSES;
  const buckets = new Map<string, TokenBucket>();
  return {
    blockedFor(address) {
      return buckets.get(address)?.wait() ?? 0;
    },
    failed(address) {
      let bucket = buckets.get(address);
      if (bucket) buckets.delete(address);
      else bucket = createTokenBucket(limit, options.now);
      buckets.set(address, bucket);
      bucket.take();
      if (buckets.size > maxTracked) buckets.delete(buckets.keys().next().value!);
    },
    get tracked() {
      return buckets.size;
    },
  };
}

/** The 429 for an address whose requests keep failing verification. */
export const tooManyFailures = (retryAfter: number) =>
  new GatewayError(
    429,
    'too_many_failures',
    'Too many requests from this address failed verification; check the secret and retry later',
    { headers: { 'retry-after': String(retryAfter) } },
  );

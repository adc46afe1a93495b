import { readExactJson, utf8Text, type ExactJson } from '../json/read';
import type { ClaimedEvent } from './queue-sql';

/** The stored event as a handler sees it. */
export interface DeliveredEvent {
  /** Gateway id of the stored event. */
  readonly id: number;
  readonly source: string;
  readonly webhookId: string;
  readonly account: string | null;
  readonly topic: string;
  /**
   * The body bytes exactly as received; for a body that wraps the event's JSON (a GitHub form hook's
   * `payload=…`, providers/types.ts documentOf), that JSON's bytes, as every field below reads it.
   */
  readonly rawBody: Buffer;
  /** The body as text, exactly as received; undefined when the bytes are not valid UTF-8. */
  readonly rawText: string | undefined;
  /**
   * The body parsed with JSON.parse, or undefined when it is not JSON. Numbers are JavaScript
   * numbers: integers beyond ±2^53 and decimals with more than ~17 significant digits come out
   * rounded (820982911946154508 reads as 820982911946154500). Use `exactPayload` or `rawText` for ids.
   */
  readonly payload: unknown;
  /**
   * The body parsed with lossless-json: every number is a LosslessNumber whose `.value` is the exact
   * text sent (`String(n)` too; `n.valueOf()` converts it: a bigint for an integer beyond 2^53, else a
   * number, long decimals rounded, 1e400 throws). Undefined when the body is not JSON. Reading it fails the event
   * at once (PermanentError) when the body nests deeper than MAX_JSON_DEPTH (256) or repeats a key
   * with different values: read `rawText` for those.
   */
  readonly exactPayload: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The path and query string it was received at (`/api/webhooks/shop?region=eu`), without
   * credential-like parameters; null for events stored before migration 0018.
   */
  readonly requestTarget: string | null;
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly receivedAt: Date;
}

export interface HandlerContext {
  /** Aborted when the worker shuts down and can no longer wait for the handler. */
  readonly signal: AbortSignal;
}

export type EventHandler = (event: DeliveredEvent, context: HandlerContext) => unknown | Promise<unknown>;

/** Throw this from a handler to fail the event at once instead of retrying it. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/**
 * Throw this to retry no sooner than `retryAfterMs` (e.g. a destination's Retry-After); the
 * worker takes the longer of it and the normal backoff, within the backoff cap.
 */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Throw this when the event must wait for something an operator paused (destinations), or for a
 * destination's protection (circuit open, rate limit): the worker records the attempt as held, not
 * counted, and the event is due again when it is resumed or the circuit closes, or after
 * `recheckInMs` (the next rate window, the end of a cooldown).
 */
export class HoldError extends Error {
  override name = 'HoldError';
  constructor(
    message: string,
    readonly heldFor: readonly string[],
    readonly options: { recheckInMs?: number; circuitFor?: readonly string[] } = {},
  ) {
    super(message);
  }
}

/**
 * Maps (source, topic) to a handler. The most specific registration wins: exact topic, then the
 * source's '*', then '*' for every source. Events with no handler complete as "stored for the record".
 */
export class HandlerRegistry {
  readonly #handlers = new Map<string, EventHandler>();
  #otherwise: EventHandler | undefined;

  on(source: string, topic: string, handler: EventHandler): this {
    const key = `${source}\u0000${topic}`;
    if (this.#handlers.has(key)) throw new Error(`A handler is already registered for ${source} / ${topic}`);
    this.#handlers.set(key, handler);
    return this;
  }

  resolve(source: string, topic: string): EventHandler | undefined {
    return (
      this.#handlers.get(`${source}\u0000${topic}`) ??
      this.#handlers.get(`${source}\u0000*`) ??
      this.#handlers.get(`*\u0000*`) ??
      this.#otherwise
    );
  }

  /** The handler for events nothing else takes (runtime destinations, resolved per attempt). */
  otherwise(handler: EventHandler): this {
    this.#otherwise = handler;
    return this;
  }
}

/** Builds the handler's view of a claimed event; JSON is parsed lazily and only once. */
export function toDeliveredEvent(event: ClaimedEvent): DeliveredEvent {
  let parsed: { value: unknown } | undefined;
  let text: { value: string | undefined } | undefined;
  let exact: ExactJson | undefined;
  return {
    id: event.id,
    source: event.source,
    webhookId: event.webhookId,
    account: event.account,
    topic: event.topic,
    rawBody: event.body,
    headers: event.headers,
    requestTarget: event.requestTarget,
    attempt: event.attempt,
    maxAttempts: event.maxAttempts,
    receivedAt: event.receivedAt,
    get payload() {
      parsed ??= { value: parseJsonOrUndefined(event.body) };
      return parsed.value;
    },
    get rawText() {
      text ??= { value: utf8Text(event.body) };
      return text.value;
    },
    get exactPayload() {
      exact ??= readExactJson(event.body);
      if (exact.ok) return exact.value;
      if (exact.reason === 'not_json' || exact.reason === 'not_utf8') return undefined;
      throw new PermanentError(`exactPayload: ${exact.message}`);
    },
  };
}

/** The body parsed with JSON.parse, or undefined when it is not JSON. */
export function parseJsonOrUndefined(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

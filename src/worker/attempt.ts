import { describeDatabaseError } from '../db/errors';
import { describeError as describeAnyError } from '../errors';
import { withSpan } from '../tracing/spans';
import { retryDelayMs, type BackoffPolicy } from './backoff';
import { HoldError, PermanentError, RetryLaterError, toDeliveredEvent, type HandlerRegistry } from './handlers';
import type { AttemptOutcome, ClaimedEvent } from './queue-sql';
import type { SchemaRegistry } from './validation';
import { transformForRouting, type SourceTransformLookup } from './source-transform';
import type { TransformRunner } from '../deliver/transforming';
import { withDocument } from './document';
import type { DocumentLookup } from '../routing/document';

export interface AttemptDeps {
  handlers: HandlerRegistry;
  schemas?: Pick<SchemaRegistry, 'check'>;
  backoff: BackoffPolicy;
  backoffFor?: (source: string) => BackoffPolicy | undefined;
  onAttempt?: (event: ClaimedEvent, outcome: AttemptOutcome['outcome'], seconds: number) => void;
  /** A source's transformation, run before routing; sources without one pay a lookup, nothing more. */
  sourceTransform?: SourceTransformLookup;
  /** Runs transformations (the process's transform threads by default; tests may inject). */
  transform?: TransformRunner;
  /** The source provider's documentOf (providers/types.ts), when it has one: what the attempt reads as the body. */
  documentOf?: DocumentLookup;
}

/**
 * A held event is looked at again after this long even if no resume woke it: a resume committed
 * while the held outcome was being written may not have seen it. Cheap: the attempt is uncounted.
 */
const HOLD_RECHECK_MS = 5 * 60_000;

/**
 * Runs one attempt of a claimed event and decides its outcome: completed, retry (after the
 * backoff, or the delay the handler asked for), failed (permanent error, or out of attempts) or
 * held (waiting for paused destinations, not counted).
 */
export function createAttemptRunner(options: AttemptDeps) {
  const { handlers } = options;

  /**
   * One span per attempt (src/tracing/spans.ts); destination calls made by the handler are its
   * children. Each attempt starts a trace of its own, linked to the ingest span whose context was
   * stored with the event (its `traceparent` header): retries hours later stay separate traces,
   * yet a trace viewer leads from each one to the request that brought the event in. `signal` is
   * this attempt's own (aborted when the worker's shutdown timeout runs out), handed to the handler.
   */
  function runAttempt(event: ClaimedEvent, signal: AbortSignal): Promise<AttemptOutcome> {
    const attributes = {
      'webhook.source': event.source,
      'webhook.topic': event.topic,
      'webhook.event_id': event.id,
      'webhook.attempt': event.attempt,
    };
    return withSpan(
      `process ${event.source}`,
      'consumer',
      attributes,
      async (span) => {
        const result = await runHandler(event, signal);
        span.setAttribute('webhook.outcome', result.outcome);
        if (result.outcome !== 'completed') span.fail(result.outcome);
        return result;
      },
      { parent: {}, links: event.headers.traceparent ? [{ traceparent: event.headers.traceparent }] : [] },
    );
  }

  async function runHandler(event: ClaimedEvent, signal: AbortSignal): Promise<AttemptOutcome> {
    let result: AttemptOutcome;
    const started = performance.now();
    let transformVersion: number | undefined;
    try {
      let delivered = toDeliveredEvent(withDocument(event, options.documentOf));
      // Payload schemas describe what the provider sends: they check the body as received.
      options.schemas?.check(event.source, event.topic, () => delivered.payload);
      const rule = options.sourceTransform?.(event.source);
      if (rule) {
        transformVersion = rule.version;
        delivered = await transformForRouting(event, delivered, rule, options.transform);
      }
      const handler = handlers.resolve(event.source, event.topic);
      if (handler) await handler(delivered, { signal });
      result = { outcome: 'completed' };
    } catch (err) {
      const error = describeError(err);
      if (err instanceof HoldError) {
        // Not a failure: nothing was tried for the paused destinations (src/deliver/destinations.ts).
        const { recheckInMs, circuitFor } = err.options;
        result = {
          outcome: 'held',
          error,
          heldFor: err.heldFor,
          recheckInMs: recheckInMs ?? HOLD_RECHECK_MS,
          ...(recheckInMs === undefined ? {} : { exact: true, circuitFor: circuitFor ?? [] }),
        };
      } else if (err instanceof PermanentError || event.attempt >= event.maxAttempts) {
        result = { outcome: 'failed', error };
      } else {
        const backoff = options.backoffFor?.(event.source) ?? options.backoff;
        const requested = err instanceof RetryLaterError ? (err.retryAfterMs ?? 0) : 0;
        const delay = Math.min(backoff.maxMs, Math.max(retryDelayMs(event.attempt, backoff), requested));
        result = { outcome: 'retry', error, retryInMs: delay };
      }
    }
    options.onAttempt?.(event, result.outcome, (performance.now() - started) / 1000);
    return transformVersion === undefined ? result : { ...result, transformVersion };
  }

  return runAttempt;
}

/**
 * Errors whose class says nothing the event's status does not: the gateway's own outcomes and a
 * plain Error. Their name was written before every last_error ("RetryLaterError: erp: HTTP 500"),
 * while the delivery log and the docs show the message alone ("held: erp paused").
 */
const OUTCOME_CLASSES = new Set([
  'Error',
  'RetryLaterError',
  'PermanentError',
  'HoldError',
  'TransformationFailedError',
]);

/**
 * A short error description for the attempt log (never a stack, never a query's parameters): the
 * message, with the class only where it tells what broke (a handler's TypeError).
 */
function describeError(err: unknown): string {
  // A database error first: its own description leaves out the values it quotes.
  const text =
    describeDatabaseError(err) ??
    (err instanceof Error && OUTCOME_CLASSES.has(err.name) && err.message ? err.message : describeAnyError(err));
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

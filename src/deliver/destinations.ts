import type { DeliveryLog } from '../store/deliveries';
import { HoldError, PermanentError, RetryLaterError, type DeliveredEvent, type EventHandler } from '../worker/handlers';
import type { Transform } from '../transform/types';
import { defaultRunner, transformInput, transformationError, type TransformRunner } from './transforming';
import { withheldForMask } from '../transform/masked-error';
import { readTextPrefix } from '../http/bounded-body';
import { parseRetryAfter } from '../http/retry-after';
import { buildEnvelope } from './envelope';
import { redactUrls } from './redact';
import { deliveryHeaders, standardWebhooksHeaders } from './sign';
import { traceHeaders, withSpan } from '../tracing/spans';
import { matchesFilter, type Filter } from '../routing/filter';
import { filterContext, recordIgnored, splitByFilter } from './filtering';
import { DEFAULT_CIRCUIT, type CircuitSettings, type Gate, type Protection, type RateLimit } from './protection';

/** An HTTP endpoint a source forwards its events to. */
export interface Destination {
  name: string;
  url: string;
  /** `whsec_<base64>` key for the Standard Webhooks signature on every delivery. */
  secret: string;
  timeoutMs: number;
  headers?: Record<string, string>;
  /** Only events matching it are posted; the others are logged as `ignored` ("filtered"). */
  filter?: Filter;
  /** Computes the body posted instead of the envelope (docs/destinations.md#transformations). */
  transform?: Transform;
  /** The version of filter + transform + sources, recorded on each delivery; file destinations: none. */
  ruleVersion?: number;
  /** Deliveries beyond it wait, uncounted (src/deliver/protection.ts). */
  rateLimit?: RateLimit;
  /** Breaker settings; DEFAULT_CIRCUIT when left out. */
  circuit?: CircuitSettings;
}

/** Where one source's events go, and what its envelope says. */
export interface ForwardingPlan {
  destinations: readonly Destination[];
  /** Destinations that are paused: their deliveries wait (HoldError), uncounted, until resumed. */
  paused?: readonly string[];
  /** The filters of paused destinations: an event a filter skips is not held for it. */
  pausedFilters?: Readonly<Record<string, Filter>>;
  /** Destinations that cannot be used now (their secret cannot be decrypted), with why. */
  unusable?: readonly { name: string; problem: string }[];
  provider?: string;
  aggregateIdPath?: string;
  tenantContext?: Record<string, unknown>;
  /** The source masks payload fields: a failed transformation's error quotes no payload value. */
  masksPayload?: boolean;
}

export interface ForwardingOptions extends ForwardingPlan {
  deliveries: DeliveryLog;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Rate limits and circuit breakers; without it every delivery is posted. */
  protection?: () => Protection | undefined;
}

const ERROR_EXCERPT = 300;
/** Most of a fetch error's text looked at (it is redacted, then cut to the excerpt). */
const REDACTION_WINDOW = 4 * 1024;

/**
 * The built-in handler that forwards an event to a source's destinations, signed, in the canonical
 * envelope. Each attempt posts only to destinations that have not yet answered 2xx; if any still
 * fail, the attempt fails (and is retried) naming them, honouring the longest Retry-After.
 */
export function forwardToDestinations(options: ForwardingOptions): EventHandler {
  const { deliveries, fetch: doFetch, protection, ...plan } = options;
  return forwardByPlan({ deliveries, fetch: doFetch, protection, planFor: () => plan });
}

/**
 * The forwarding handler whose plan is looked up at each attempt (`planFor(source)`), so
 * destinations added, changed, paused or resumed at runtime apply to the next attempt. A source
 * without a plan has nothing to forward and completes.
 *
 * Pausing holds, it does not fail: the attempt delivers to every pending destination that is not
 * paused; if those all succeed and some paused ones are still pending, it throws HoldError, which
 * the worker records as "held" — the event waits, its attempt not counted, until a resume makes it
 * due again (src/control/destination-store.ts releaseHeld). A real failure of another destination
 * in the same attempt is an ordinary retry and counts. A destination whose circuit is open, whose
 * rate limit is reached or that answered 410 Gone is held the same way, looked at again when its
 * gate says (the next rate window, the end of the cooldown); see docs/destinations.md.
 */
export function forwardByPlan(options: {
  deliveries: DeliveryLog;
  planFor: (source: string) => ForwardingPlan | undefined;
  fetch?: typeof fetch;
  transform?: TransformRunner;
  protection?: () => Protection | undefined;
}): EventHandler {
  const doFetch = options.fetch ?? fetch;
  const run = options.transform ?? defaultRunner;
  return async (event, { signal }) => {
    const plan = options.planFor(event.source);
    if (!plan) return;
    const { done, failedForGood } = await options.deliveries.settledDestinations(event.id, event.receivedAt);
    // A transformation that failed is not run again for the same rule version (it would fail the
    // same way): that destination is done, the event fails once the others are. A change of the
    // transform (a new rule version) makes a replay try it again. File destinations have no rule
    // version: theirs is simply run again (and fails again) until the event ends.
    const gaveUp = plan.destinations.filter(
      (d) => d.ruleVersion !== undefined && !done.has(d.name) && failedForGood.get(d.name)?.ruleVersion === d.ruleVersion,
    );
    const context = filterContext(event);
    const { matched: pending, ignored } = splitByFilter(
      context,
      plan.destinations.filter((d) => !done.has(d.name) && !gaveUp.includes(d)),
    );
    const skipsEvent = (name: string) => {
      const filter = plan.pausedFilters?.[name];
      return filter !== undefined && !matchesFilter(filter, context);
    };
    const skippedPaused = (plan.paused ?? []).filter((name) => !done.has(name) && skipsEvent(name));
    const paused = (plan.paused ?? []).filter((name) => !done.has(name) && !skippedPaused.includes(name));
    const unusable = (plan.unusable ?? []).filter((d) => !done.has(d.name));
    await recordIgnored(event, [...ignored, ...skippedPaused.map((name) => ({ name }))], options.deliveries);
    const outcome = await deliver(event, pending, plan, options.deliveries, doFetch, signal, run, options.protection?.());
    const permanent = [
      ...gaveUp.map((d) => ({ destination: d.name, error: failedForGood.get(d.name)!.error })),
      ...outcome.failed.filter((r) => r.permanent),
    ];
    const failed = [
      ...outcome.failed.filter((r) => !r.permanent),
      ...unusable.map((d) => ({ destination: d.name, error: d.problem, retryAfterMs: undefined })),
    ];
    if (failed.length === 0) {
      const held = outcome.held;
      if (paused.length > 0 || held.length > 0) {
        const why = [...paused.map((name) => `${name} paused`), ...held.map((h) => `${h.name} ${h.reason.replace('_', ' ')}`)];
        throw new HoldError(`held: ${why.join(', ')}`, [...paused, ...held.map((h) => h.name)], {
          recheckInMs: held.length > 0 ? Math.min(...held.map((h) => h.recheckMs)) : undefined,
          circuitFor: held.filter((h) => h.reason !== 'rate_limited').map((h) => h.name),
        });
      }
      // Every other destination is served: the event fails now, without burning its attempts.
      if (permanent.length > 0) throw new PermanentError(permanent.map((f) => `${f.destination}: ${f.error}`).join('; '));
      return;
    }
    const retryAfters = failed.map((f) => f.retryAfterMs).filter((ms): ms is number => ms !== undefined);
    throw new RetryLaterError(
      [...failed, ...permanent].map((f) => `${f.destination}: ${f.error}`).join('; '),
      retryAfters.length ? Math.max(...retryAfters) : undefined,
    );
  };
}

type Held = { name: string } & Extract<Gate, { pass: false }>;
type Failed = { destination: string; error: string; retryAfterMs?: number; permanent?: boolean };

/**
 * Posts the event to each destination its gate lets through, all at once — the envelope, or what
 * the destination's transformation computes from it — and returns the ones that failed and the
 * ones held (circuit open, rate limited, or answering 410 Gone). A transformation that fails is
 * recorded as a failed delivery (`transformation_failed: …`) and marked permanent; it is computed
 * before the gate, so it spends no rate-limit slot and no half-open probe.
 */
async function deliver(
  event: DeliveredEvent,
  pending: readonly Destination[],
  plan: ForwardingPlan,
  deliveries: DeliveryLog,
  doFetch: typeof fetch,
  signal: AbortSignal,
  run: TransformRunner,
  protection: Protection | undefined,
): Promise<{ failed: Failed[]; held: Held[] }> {
  if (pending.length === 0) return { failed: [], held: [] };
  const envelope = buildEnvelope(event, plan);
  let input: string | undefined;
  const bodyFor = async (transform: Transform | undefined) => {
    if (!transform) return { ok: true as const, body: envelope };
    input ??= transformInput(event);
    return run(transform, input);
  };
  // Stable across retries so the receiver can deduplicate on webhook-id.
  const messageId = `evt_${event.id}`;

  const results = await Promise.all(
    // One span per call, carried to the destination as `traceparent`; the host, never the URL (it may hold a token).
    pending.map((destination) => withSpan(`deliver ${destination.name}`, 'client', {
      'webhook.destination': destination.name,
      'webhook.event_id': event.id,
      'http.request.method': 'POST',
      'server.address': new URL(destination.url).hostname,
    }, async (span): Promise<{ destination: string; error: string | null; retryAfterMs?: number; permanent?: boolean; held?: Held }> => {
      let startedAt = new Date();
      const ruleVersion = destination.ruleVersion ?? null;
      const computed = await bodyFor(destination.transform);
      if (!computed.ok) {
        const error = transformationError(withheldForMask(computed, plan.masksPayload ?? false));
        await deliveries.record({
          eventId: event.id,
          eventReceivedAt: event.receivedAt,
          attempt: event.attempt,
          destination: destination.name,
          startedAt,
          durationMs: Date.now() - startedAt.getTime(),
          outcome: 'failed',
          httpStatus: null,
          error,
          ruleVersion,
        });
        span.fail('transformation_failed');
        return { destination: destination.name, error, retryAfterMs: undefined, permanent: true };
      }
      const body = computed.body;
      const gate: Gate = protection ? await protection.gate(destination) : { pass: true, probe: false };
      if (!gate.pass) {
        span.setAttribute('webhook.held', gate.reason);
        return { destination: destination.name, error: null, held: { name: destination.name, ...gate } };
      }
      startedAt = new Date();
      let httpStatus: number | null = null;
      let error: string | null = null;
      let retryAfterMs: number | undefined;
      // Before any text is stored, shown or logged: a URL's credentials never leave this function.
      // Redacted before the excerpt is cut, so no credential is cut in half at its end.
      const safe = (text: string) =>
        excerpt(redactUrls(text, { url: destination.url, headers: destination.headers }));
      try {
        const response = await doFetch(destination.url, {
          method: 'POST',
          body,
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(destination.timeoutMs)]),
          headers: deliveryHeaders(destination.headers, {
            'content-type': 'application/json',
            'user-agent': 'webhook-gateway',
            ...standardWebhooksHeaders(destination.secret, messageId, body, startedAt),
            ...traceHeaders(),
          }),
        });
        httpStatus = response.status;
        if (response.status < 200 || response.status >= 300) {
          // At most a few KiB of the answer are read; the rest is cancelled, never downloaded.
          error = `HTTP ${response.status}: ${safe(await readTextPrefix(response))}`;
          retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        } else {
          // The answer's content does not matter; release the connection without reading it.
          void response.body?.cancel().catch(() => {});
        }
      } catch (err) {
        error = safe(describeFetchError(err, destination.timeoutMs));
      }
      // Aborted by the worker's shutdown: says nothing about the endpoint.
      const verdict = signal.aborted ? 'reachable' : await protection?.report(destination, httpStatus, gate.probe);
      const gone = verdict === 'gone';
      await deliveries.record({
        eventId: event.id,
        eventReceivedAt: event.receivedAt,
        attempt: event.attempt,
        destination: destination.name,
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
        outcome: error === null ? 'delivered' : gone ? 'held' : 'failed',
        httpStatus,
        error: gone ? `${error} (destination paused: gone)` : error,
        ruleVersion,
      });
      if (httpStatus !== null) span.setAttribute('http.response.status_code', httpStatus);
      if (error !== null) span.fail(httpStatus === null ? 'no_answer' : `http_${httpStatus}`);
      // A 410 is held like a pause: not a failure, not counted; a resume releases it. Looked at
      // again after the cooldown: a file destination (not pausable) is probed then. A failed probe
      // is the endpoint's failure, already known, not the event's: held, not counted either.
      const recheckMs = (destination.circuit ?? DEFAULT_CIRCUIT).cooldownSeconds * 1000;
      if (gone) return { destination: destination.name, error: null, held: { name: destination.name, pass: false, reason: 'gone', recheckMs } };
      if (gate.probe && verdict === 'failure')
        return { destination: destination.name, error: null, held: { name: destination.name, pass: false, reason: 'circuit_open', recheckMs } };
      return { destination: destination.name, error, retryAfterMs, permanent: false };
    })),
  );

  return {
    failed: results.flatMap((r) =>
      r.error === null ? [] : [{ destination: r.destination, error: r.error, retryAfterMs: r.retryAfterMs, permanent: r.permanent }],
    ),
    held: results.flatMap((r) => (r.held ? [r.held] : [])),
  };
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return err.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : 'aborted: worker shutting down';
  }
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`.slice(0, REDACTION_WINDOW);
}

const excerpt = (text: string) => (text.length > ERROR_EXCERPT ? `${text.slice(0, ERROR_EXCERPT)}…` : text);

import type { DeliveryLog } from '../store/deliveries';
import { HoldError, PermanentError, RetryLaterError, type EventHandler } from '../worker/handlers';
import type { Transform } from '../transform/types';
import { defaultRunner, type TransformRunner } from './transforming';
import { matchesFilter, type Filter } from '../routing/filter';
import { filterContext, recordIgnored, splitByFilter } from './filtering';
import { postToDestinations } from './posting';
import type { ReadDestinationStates } from './confirm';
import type { CircuitSettings, Protection, RateLimit } from './protection';

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
  /** A database destination's row version when the snapshot was read (src/deliver/confirm.ts); file ones: none. */
  version?: number;
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
  /** The source masks payload fields: no error text quotes a failed transformation or a destination's answer. */
  masksPayload?: boolean;
}

export interface ForwardingOptions extends ForwardingPlan {
  deliveries: DeliveryLog;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Rate limits and circuit breakers; without it every delivery is posted. */
  protection?: () => Protection | undefined;
}

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
  /** Reads database destinations as stored now, right before each POST; without it the plan is trusted. */
  storedStates?: ReadDestinationStates;
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
      (d) =>
        d.ruleVersion !== undefined && !done.has(d.name) && failedForGood.get(d.name)?.ruleVersion === d.ruleVersion,
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
    const outcome = await postToDestinations(
      event,
      pending,
      plan,
      options.deliveries,
      doFetch,
      signal,
      run,
      options.protection?.(),
      options.storedStates,
    );
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
        const why = [...paused.map((name) => `${name} paused`), ...held.map((h) => heldWhy(h, plan))];
        throw new HoldError(`held: ${why.join(', ')}`, [...paused, ...held.map((h) => h.name)], {
          recheckInMs: held.length > 0 ? Math.min(...held.map((h) => h.recheckMs)) : undefined,
          circuitFor: held.filter((h) => h.reason === 'circuit_open' || h.reason === 'gone').map((h) => h.name),
        });
      }
      // Every other destination is served: the event fails now, without burning its attempts.
      if (permanent.length > 0)
        throw new PermanentError(permanent.map((f) => `${f.destination}: ${f.error}`).join('; '));
      return;
    }
    const retryAfters = failed.map((f) => f.retryAfterMs).filter((ms): ms is number => ms !== undefined);
    throw new RetryLaterError(
      [...failed, ...permanent].map((f) => `${f.destination}: ${f.error}`).join('; '),
      retryAfters.length ? Math.max(...retryAfters) : undefined,
    );
  };
}

type HeldReason = 'circuit_open' | 'rate_limited' | 'gone' | 'paused' | 'changed';

/**
 * Why one destination holds the event, for its `last_error`. A 410 says what happened rather than
 * "<name> gone" (which read "gone gone" for a destination named gone); database destinations carry
 * a rule version and are paused on a 410, file destinations have none and cannot be paused.
 */
function heldWhy(held: { name: string; reason: HeldReason }, plan: ForwardingPlan) {
  // Paused or changed through another instance since this process planned the attempt (confirm.ts).
  if (held.reason === 'changed') return `${held.name} changed since the attempt was planned`;
  if (held.reason !== 'gone') return `${held.name} ${held.reason.replace('_', ' ')}`;
  const paused = plan.destinations.find((d) => d.name === held.name)?.ruleVersion !== undefined;
  return paused
    ? `destination ${held.name} answered 410 Gone and was paused`
    : `destination ${held.name} answered 410 Gone; its circuit is open (a file destination cannot be paused)`;
}

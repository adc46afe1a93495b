import type { Logger } from 'pino';
import type { CircuitState, HealthRow, ProtectionStore } from './protection-sql';

/** A destination's rate limit: deliveries beyond it wait (held, uncounted) for a later window. */
export interface RateLimit {
  perSecond?: number;
  perMinute?: number;
}

/** When the circuit opens and how long it stays open before one probe delivery is let through. */
export interface CircuitSettings {
  failureThreshold: number;
  cooldownSeconds: number;
}

export const DEFAULT_CIRCUIT: CircuitSettings = { failureThreshold: 5, cooldownSeconds: 30 };

/** What the protection needs to know of a destination. */
export interface Protected {
  name: string;
  timeoutMs: number;
  rateLimit?: RateLimit;
  circuit?: CircuitSettings;
}

/** Whether a delivery may be posted now; if not, why, and when to look again. */
export type Gate =
  { pass: true; probe: boolean } | { pass: false; reason: 'circuit_open' | 'rate_limited' | 'gone'; recheckMs: number };

/** What a delivery's answer means for the breaker (classify()). */
export type Verdict = 'reachable' | 'failure' | 'gone';

/**
 * The breaker counts what says "the endpoint is not there or not coping": no answer (refused,
 * reset, DNS, timeout), 5xx, 408 and 429. Any other answer, a 4xx included, comes from an endpoint
 * that is up and judged this one message: it resets the count (the delivery itself is still
 * retried or failed as usual). 410 Gone pauses the destination.
 */
export function classify(httpStatus: number | null): Verdict {
  if (httpStatus === 410) return 'gone';
  if (httpStatus === null || httpStatus >= 500 || httpStatus === 408 || httpStatus === 429) return 'failure';
  return 'reachable';
}

/** A circuit's state as the API shows it. */
export interface CircuitView {
  state: CircuitState;
  consecutiveFailures: number;
  openedAt: Date | null;
}

interface Cached {
  row: HealthRow | undefined;
  /** Local clock (performance.now()) when read from the database. */
  readAt: number;
  /** Database clock minus local clock when read: compares database times with the local clock. */
  skewMs: number;
}

export interface ProtectionDeps {
  store: ProtectionStore;
  logger: Logger;
  /** How long a process trusts its cached circuit state before re-reading it (default 1 s). */
  refreshMs?: number;
  /** Held events were released (a circuit closed): wake the worker. */
  onReleased?: () => void;
  /** A 410 answer (after the circuit was opened for it): pause a database destination, audit it. */
  onGone?: (name: string) => Promise<void>;
  /** Observers for metrics. */
  onState?: (name: string, state: CircuitState) => void;
}

/**
 * Rate limits and circuit breakers of destinations, shared by every worker process through the
 * database (src/deliver/protection-sql.ts). The circuit state is cached per process for
 * `refreshMs`: a closed circuit costs no query per delivery; another process learns of an open
 * one within that time or from its own next failure's answer.
 */
export function createProtection(deps: ProtectionDeps) {
  const refreshMs = deps.refreshMs ?? 1000;
  const cache = new Map<string, Cached>();

  const remember = (name: string, row: HealthRow | undefined) => {
    const previous = cache.get(name)?.row?.state ?? 'closed';
    cache.set(name, { row, readAt: performance.now(), skewMs: row ? row.nowMs - Date.now() : 0 });
    const state = row?.state ?? 'closed';
    if (state !== previous) deps.onState?.(name, state);
  };

  async function current(name: string): Promise<Cached> {
    const cached = cache.get(name);
    if (cached && performance.now() - cached.readAt < refreshMs) return cached;
    remember(name, (await deps.store.health([name])).get(name));
    return cache.get(name)!;
  }

  /** Milliseconds until the cooldown of an open circuit is over (database clock), at least 50. */
  const cooldownLeft = (c: Cached, settings: CircuitSettings) =>
    Math.max(50, (c.row?.openedAt ?? 0) + settings.cooldownSeconds * 1000 - (Date.now() + c.skewMs));

  async function circuitGate(d: Protected): Promise<Gate> {
    const settings = d.circuit ?? DEFAULT_CIRCUIT;
    const c = await current(d.name);
    if (!c.row || c.row.state === 'closed') return { pass: true, probe: false };
    const reason = c.row.goneAt !== null ? 'gone' : 'circuit_open';
    const probeLapsed = c.row.state === 'half_open' && (c.row.probeUntil ?? 0) <= Date.now() + c.skewMs;
    if ((c.row.state === 'open' && cooldownLeft(c, settings) <= 50) || probeLapsed) {
      // The probe's claim outlives its delivery's timeout, so only one probe is in flight.
      const probeSeconds = Math.ceil(d.timeoutMs / 1000) + 5;
      const claimed = await deps.store.claimProbe(d.name, settings.cooldownSeconds, probeSeconds);
      if (claimed) {
        remember(d.name, claimed);
        return { pass: true, probe: true };
      }
      remember(d.name, (await deps.store.health([d.name])).get(d.name));
    }
    const now = cache.get(d.name)!;
    // Half-open: the probe's success releases the held events at once; this is the backstop.
    const recheckMs = now.row?.state === 'open' ? cooldownLeft(now, settings) : settings.cooldownSeconds * 1000;
    return { pass: false, reason, recheckMs: recheckMs + Math.floor(Math.random() * 100) };
  }

  async function rateGate(d: Protected): Promise<Gate> {
    const limits: ['s' | 'm', number | undefined][] = [
      ['s', d.rateLimit?.perSecond],
      ['m', d.rateLimit?.perMinute],
    ];
    for (const [kind, limit] of limits) {
      if (!limit) continue;
      const answer = await deps.store.acquire(d.name, kind, limit);
      if (!answer.ok) return { pass: false, reason: 'rate_limited', recheckMs: answer.waitMs };
    }
    return { pass: true, probe: false };
  }

  return {
    /** Whether `d` may be posted to now: circuit first (no query while closed), then the rate limit. */
    async gate(d: Protected): Promise<Gate> {
      const circuit = await circuitGate(d);
      if (!circuit.pass) return circuit;
      const rate = await rateGate(d);
      // A probe turned away by the rate limit hands its claim back by lapsing (probeUntil).
      return rate.pass ? circuit : rate;
    },

    /** Feeds a delivery's answer (its HTTP status, null for none) to the breaker. */
    async report(d: Protected, httpStatus: number | null, probe: boolean): Promise<Verdict> {
      const verdict = classify(httpStatus);
      const settings = d.circuit ?? DEFAULT_CIRCUIT;
      if (verdict === 'failure') {
        const { row, opened } = await deps.store.failure(d.name, settings.failureThreshold, probe);
        remember(d.name, row);
        if (opened)
          deps.logger.warn(
            {
              destination: d.name,
              consecutiveFailures: row.consecutiveFailures,
              cooldownSeconds: settings.cooldownSeconds,
            },
            probe
              ? 'circuit re-opened: the probe delivery failed'
              : 'circuit opened: deliveries are held until a probe succeeds',
          );
      } else if (verdict === 'gone') {
        remember(d.name, await deps.store.gone(d.name));
        deps.logger.warn({ destination: d.name }, 'destination answered 410 Gone: paused, its deliveries are held');
        await deps.onGone?.(d.name);
      } else {
        const c = cache.get(d.name);
        // The hot path: a closed circuit with no failures writes nothing.
        if (c?.row === undefined && c !== undefined) return verdict;
        if (c?.row && c.row.state === 'closed' && c.row.consecutiveFailures === 0) return verdict;
        const { was, released } = await deps.store.success(d.name);
        remember(d.name, undefined);
        if (was !== 'closed') {
          deps.logger.info({ destination: d.name, released }, 'circuit closed: held deliveries released');
          if (released > 0) deps.onReleased?.();
        }
      }
      return verdict;
    },

    /** The circuits of these destinations (for the API and metrics), read from the database. */
    async views(names: readonly string[]): Promise<Map<string, CircuitView>> {
      const rows = await deps.store.health(names);
      return new Map(
        names.map((name) => {
          const row = rows.get(name);
          return [
            name,
            {
              state: row?.state ?? 'closed',
              consecutiveFailures: row?.consecutiveFailures ?? 0,
              openedAt: row?.openedAt ? new Date(row.openedAt) : null,
            },
          ];
        }),
      );
    },

    /** Forgets the cached state (an operator resumed the destination). */
    forget(name: string): void {
      cache.delete(name);
    },
  };
}

export type Protection = ReturnType<typeof createProtection>;

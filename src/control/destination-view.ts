import type { FileDestination, SourceConfig } from '../config/file';
import { DEFAULT_CIRCUIT } from '../deliver/protection';
import { fingerprint } from './crypto';
import type { RuntimeDestination } from './destination-catalog';
import type { DestinationHealth } from './destination-store';

export type { DestinationView } from './view-shapes';
import type { DestinationView } from './view-shapes';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The fingerprint of a set of headers, independent of their order. */
export const headersFingerprint = (headers: Record<string, string> = {}) =>
  fingerprint(JSON.stringify(Object.entries(headers).sort(([a], [b]) => a.localeCompare(b))));
const EMPTY: DestinationHealth = {
  delivered: 0,
  failed: 0,
  held: 0,
  circuit: { state: 'closed', consecutiveFailures: 0, openedAt: null, goneAt: null },
  last: [],
};

/** The protection keys of a view: rate limit, circuit settings (defaults filled in), circuit state. */
function protectionView(
  rateLimit: DestinationView['rate_limit'] | undefined,
  circuit: Partial<DestinationView['circuit']> | null | undefined,
  h: DestinationHealth = EMPTY,
) {
  return {
    rate_limit: rateLimit ?? null,
    circuit: {
      failure_threshold: circuit?.failure_threshold ?? DEFAULT_CIRCUIT.failureThreshold,
      cooldown_seconds: circuit?.cooldown_seconds ?? DEFAULT_CIRCUIT.cooldownSeconds,
    },
    circuit_state: {
      state: h.circuit.state,
      consecutive_failures: h.circuit.consecutiveFailures,
      opened_at: iso(h.circuit.openedAt),
    },
  };
}

const healthView = (h: DestinationHealth = EMPTY): DestinationView['health'] => ({
  delivered: h.delivered,
  failed: h.failed,
  held: h.held,
  last_deliveries: h.last.map((d) => ({
    event_id: d.eventId,
    attempt: d.attempt,
    at: d.at.toISOString(),
    outcome: d.outcome,
    http_status: d.httpStatus,
    error: d.error,
    rule_version: d.ruleVersion,
  })),
});

export function databaseDestinationView(d: RuntimeDestination, health?: DestinationHealth): DestinationView {
  const { row } = d;
  return {
    name: row.name,
    managed_by: 'database',
    origin: row.origin,
    url: row.url,
    timeout_ms: row.timeoutMs,
    header_names: row.headerNames,
    headers_fingerprint: d.destination ? headersFingerprint(d.destination.headers) : null,
    sources: row.sources,
    filter: row.filter,
    transform: row.transform,
    rule_version: row.ruleVersion,
    paused: row.paused,
    paused_reason: row.pausedReason,
    ...protectionView(row.rateLimit, row.circuit, health),
    version: row.version,
    fingerprint: row.fingerprint,
    fingerprint_created_at: iso(row.secretCreatedAt),
    problem: d.problem ?? null,
    health: healthView(health),
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

/** The config file's destinations (top-level and inline), one view per name (a name may serve several sources). */
export function fileDestinationViews(
  sources: readonly SourceConfig[],
  topLevel: readonly FileDestination[],
  health: Map<string, DestinationHealth>,
): DestinationView[] {
  const views = new Map<string, DestinationView>();
  const entries = [
    ...topLevel.map((d) => ({ d, sources: d.sources })),
    ...sources.flatMap((source) => source.processing.destinations.map((d) => ({ d, sources: [source.name] }))),
  ];
  for (const { d, sources: served } of entries) {
    const seen = views.get(d.name);
    if (seen) {
      seen.sources.push(...served);
      continue;
    }
    views.set(d.name, {
      name: d.name,
      managed_by: 'file',
      origin: null,
      url: d.url,
      timeout_ms: d.timeoutMs,
      header_names: Object.keys(d.headers ?? {}),
      headers_fingerprint: headersFingerprint(d.headers),
      sources: [...served],
      filter: d.filter ?? null,
      transform: d.transform ?? null,
      rule_version: null,
      // A file destination cannot be paused (the file owns it): a 410 opens its circuit instead.
      paused: false,
      paused_reason: health.get(d.name)?.circuit.goneAt
        ? 'gone: HTTP 410 (circuit open; file destinations cannot be paused)'
        : null,
      ...protectionView(
        d.rateLimit && {
          ...(d.rateLimit.perSecond ? { per_second: d.rateLimit.perSecond } : {}),
          ...(d.rateLimit.perMinute ? { per_minute: d.rateLimit.perMinute } : {}),
        },
        d.circuit && { failure_threshold: d.circuit.failureThreshold, cooldown_seconds: d.circuit.cooldownSeconds },
        health.get(d.name),
      ),
      version: null,
      fingerprint: fingerprint(d.secret),
      fingerprint_created_at: null,
      problem: null,
      health: healthView(health.get(d.name)),
      created_at: null,
      updated_at: null,
    });
  }
  return [...views.values()];
}

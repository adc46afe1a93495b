import type { FileDestination, SourceConfig } from '../config/file';
import type { Filter } from '../routing/filter';
import { fingerprint } from './crypto';
import type { RuntimeDestination } from './destination-catalog';
import type { DestinationHealth } from './destination-store';

/** A destination as the API, CLI, UI and audit log see it: never its secret or a header's value. */
export interface DestinationView {
  name: string;
  /** "file": declared inline by GATEWAY_CONFIG sources, read-only here; "database": managed at runtime. */
  managed_by: 'file' | 'database';
  origin: 'api' | 'apply' | null;
  url: string;
  timeout_ms: number;
  /** Names only: header values may be credentials. */
  header_names: string[];
  /** Tells whether the header values changed (apply -f compares it) without revealing them; null when unreadable here. */
  headers_fingerprint: string | null;
  sources: string[];
  /** Only matching events are posted (docs/destinations.md#filters); null: every event. */
  filter: Filter | null;
  paused: boolean;
  version: number | null;
  /** 12 hex digits of sha256 of the signing secret; the secret itself is shown once, at creation or rotation. */
  fingerprint: string;
  fingerprint_created_at: string | null;
  /** Why deliveries fail before any request (its secret cannot be decrypted here). */
  problem: string | null;
  health: {
    delivered: number;
    failed: number;
    /** Events waiting for this destination to be resumed. */
    held: number;
    last_deliveries: {
      event_id: number;
      attempt: number;
      at: string;
      outcome: string;
      http_status: number | null;
      error: string | null;
    }[];
  };
  created_at: string | null;
  updated_at: string | null;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The fingerprint of a set of headers, independent of their order. */
export const headersFingerprint = (headers: Record<string, string> = {}) =>
  fingerprint(JSON.stringify(Object.entries(headers).sort(([a], [b]) => a.localeCompare(b))));
const EMPTY: DestinationHealth = { delivered: 0, failed: 0, held: 0, last: [] };

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
    paused: row.paused,
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
      paused: false,
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

import type { SourceConfig } from '../config/file';
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
  sources: string[];
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
    last_deliveries: { event_id: number; attempt: number; at: string; outcome: string; http_status: number | null; error: string | null }[];
  };
  created_at: string | null;
  updated_at: string | null;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const EMPTY: DestinationHealth = { delivered: 0, failed: 0, held: 0, last: [] };

const healthView = (h: DestinationHealth = EMPTY): DestinationView['health'] => ({
  delivered: h.delivered,
  failed: h.failed,
  held: h.held,
  last_deliveries: h.last.map((d) => ({ event_id: d.eventId, attempt: d.attempt, at: d.at.toISOString(), outcome: d.outcome, http_status: d.httpStatus, error: d.error })),
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
    sources: row.sources,
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

/** The config file's inline destinations, one view per name (a name may serve several sources). */
export function fileDestinationViews(sources: readonly SourceConfig[], health: Map<string, DestinationHealth>): DestinationView[] {
  const views = new Map<string, DestinationView>();
  for (const source of sources) {
    for (const d of source.processing.destinations) {
      const seen = views.get(d.name);
      if (seen) {
        seen.sources.push(source.name);
        continue;
      }
      views.set(d.name, {
        name: d.name,
        managed_by: 'file',
        origin: null,
        url: d.url,
        timeout_ms: d.timeoutMs,
        header_names: Object.keys(d.headers ?? {}),
        sources: [source.name],
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
  }
  return [...views.values()];
}

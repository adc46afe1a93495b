import { sql } from 'drizzle-orm';
import type { CircuitInput, RateLimitInput } from '../config/processing';
import { parseExact, stringifyExact } from '../json/exact-values';
import type { Filter } from '../routing/filter';
import type { Transform } from '../transform/types';
import type { SealedSecret } from './crypto';

// A destination as its tables hold it (migrations/0012_destinations.sql): the row, what a write
// gives, and their conversion from and to the database's values (src/control/destination-store.ts
// runs the statements).

export interface DestinationRow {
  name: string;
  url: string;
  timeoutMs: number;
  headerNames: string[];
  /** The sealed JSON document {secret, headers}. */
  sealed: SealedSecret;
  fingerprint: string;
  secretCreatedAt: Date;
  paused: boolean;
  /** Null: every event of its sources is posted. */
  filter: Filter | null;
  /** Null: the canonical envelope is posted. */
  transform: Transform | null;
  /** `version` at the last change of filter, transform or sources (recorded on each delivery). */
  ruleVersion: number;
  /** Null: no rate limit. */
  rateLimit: RateLimitInput | null;
  /** Null: the default circuit settings. */
  circuit: CircuitInput | null;
  /** Why the gateway paused it itself ("gone: HTTP 410"); null otherwise. */
  pausedReason: string | null;
  origin: 'api' | 'apply';
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** Names of the attached sources, sorted. */
  sources: string[];
}

/** What a create or an update writes; `sealed` only when the secret or headers change. */
export interface DestinationWrite {
  url: string;
  timeoutMs: number;
  headerNames: string[];
  filter: Filter | null;
  transform: Transform | null;
  /** The filter, transform or sources change: the rule version becomes the new version. */
  ruleChanged?: boolean;
  rateLimit: RateLimitInput | null;
  circuit: CircuitInput | null;
  sealed?: { value: SealedSecret; fingerprint: string; newSecret: boolean };
  sources: string[];
}

export type Raw = Record<string, unknown>;
const toDate = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));
const toBuffer = (v: unknown) => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));
const toJson = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

export const destinationRow = (r: Raw): DestinationRow => ({
  name: String(r.name),
  url: String(r.url),
  timeoutMs: Number(r.timeout_ms),
  headerNames: (toJson(r.header_names) as string[]) ?? [],
  sealed: { keyId: String(r.key_id), iv: toBuffer(r.iv), tag: toBuffer(r.tag), ciphertext: toBuffer(r.ciphertext) },
  fingerprint: String(r.fingerprint),
  secretCreatedAt: toDate(r.secret_created_at),
  paused: r.paused === true,
  filter: r.filter_text == null ? null : (parseExact(String(r.filter_text)) as Filter),
  transform: (toJson(r.transform) as Transform | null) ?? null,
  ruleVersion: Number(r.rule_version ?? r.version),
  rateLimit: (toJson(r.rate_limit) as RateLimitInput | null) ?? null,
  circuit: (toJson(r.circuit) as CircuitInput | null) ?? null,
  pausedReason: r.paused_reason == null ? null : String(r.paused_reason),
  origin: r.origin === 'apply' ? 'apply' : 'api',
  version: Number(r.version),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
  sources: ((toJson(r.sources) as string[] | null) ?? []).filter((s) => s !== null).sort(),
});

/**
 * The row with its attached sources as one JSON array (one round trip for the registry). The
 * filter is read as text: postgres.js and PGlite parse jsonb with JSON.parse, which rounds a
 * filter's `820982911946154508` (kept whole by jsonb's numeric) to 820982911946154500.
 */
export const WITH_SOURCES = sql`select d.*, d.filter::text as filter_text, coalesce((select json_agg(ds.source order by ds.source) from destination_sources ds
  where ds.destination = d.name), '[]'::json) as sources from destinations d`;

/** SQL NULL (not JSON null) when there is no filter; a filter's exact numbers written with their digits. */
export const filterJson = (filter: object | null) => (filter === null ? null : stringifyExact(filter));

export const sealedJson = (s: SealedSecret) => ({
  key_id: s.keyId,
  iv: s.iv.toString('base64'),
  tag: s.tag.toString('base64'),
  ciphertext: s.ciphertext.toString('base64'),
});

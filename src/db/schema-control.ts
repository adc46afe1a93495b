import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

// Tables of the control plane (src/control): push sources managed at runtime. Hand-written in
// migrations/0009_control_plane.sql (with the NOTIFY triggers); kept here for drizzle-kit.

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({ dataType: () => 'bytea' });

/** A source created through the API/CLI; `spec` is its config-file entry minus name and secrets. */
export const sources = pgTable('sources', {
  name: text('name').primaryKey(),
  provider: text('provider').notNull(),
  spec: jsonb('spec').notNull(),
  paused: boolean('paused').notNull().default(false),
  /** 'apply' when `webhook-gateway apply` created it (and may delete it); else 'api'. */
  origin: text('origin').notNull().default('api'),
  version: integer('version').notNull().default(1),
  /** `version` at the last change of the spec's `transform` (migration 0020); attempts record it. */
  transformVersion: integer('transform_version').notNull().default(1),
  createdAt: tstz('created_at').notNull().defaultNow(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** One encrypted verification secret (AES-256-GCM; see src/control/crypto.ts). */
export const sourceSecrets = pgTable(
  'source_secrets',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    source: text('source')
      .notNull()
      .references(() => sources.name, { onDelete: 'cascade' }),
    keyId: text('key_id').notNull(),
    iv: bytea('iv').notNull(),
    tag: bytea('tag').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    fingerprint: text('fingerprint').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    notAfter: tstz('not_after'),
  },
  (t) => [index('source_secrets_source_idx').on(t.source)],
);

/**
 * A destination created through the API/CLI (migrations/0012_destinations.sql). Its signing secret
 * and headers are one sealed JSON document; only the fingerprint and header names are in clear.
 */
export const destinations = pgTable('destinations', {
  name: text('name').primaryKey(),
  url: text('url').notNull(),
  timeoutMs: integer('timeout_ms').notNull().default(10000),
  headerNames: jsonb('header_names').notNull().default([]),
  keyId: text('key_id').notNull(),
  iv: bytea('iv').notNull(),
  tag: bytea('tag').notNull(),
  ciphertext: bytea('ciphertext').notNull(),
  fingerprint: text('fingerprint').notNull(),
  secretCreatedAt: tstz('secret_created_at').notNull().defaultNow(),
  paused: boolean('paused').notNull().default(false),
  /** Migration 0014: only events matching it are posted (src/routing/filter.ts); null: all. */
  filter: jsonb('filter'),
  /** Migration 0015: what the body posted is computed by (src/transform); null: the envelope. */
  transform: jsonb('transform'),
  /** Migration 0015: `version` at the last change of filter, transform or sources. */
  ruleVersion: integer('rule_version').notNull().default(1),
  /** Migration 0016: {per_second?, per_minute?}; null: no rate limit. */
  rateLimit: jsonb('rate_limit'),
  /** Migration 0016: {failure_threshold, cooldown_seconds}; null: the defaults. */
  circuit: jsonb('circuit'),
  /** Migration 0016: why the gateway paused it itself ("gone: HTTP 410"); null for an operator's pause. */
  pausedReason: text('paused_reason'),
  origin: text('origin').notNull().default('api'),
  version: integer('version').notNull().default(1),
  createdAt: tstz('created_at').notNull().defaultNow(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** Which sources (file, env or database ones) forward to which destination. */
export const destinationSources = pgTable(
  'destination_sources',
  {
    destination: text('destination')
      .notNull()
      .references(() => destinations.name, { onDelete: 'cascade' }),
    source: text('source').notNull(),
  },
  (t) => [primaryKey({ columns: [t.destination, t.source] })],
);

/** Circuit-breaker state of a destination, file or database (migrations/0016_destination_protection.sql). */
export const destinationHealth = pgTable('destination_health', {
  name: text('name').primaryKey(),
  state: text('state').notNull().default('closed'),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  openedAt: tstz('opened_at'),
  probeUntil: tstz('probe_until'),
  goneAt: tstz('gone_at'),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** Rate-limit windows, one row per destination and window size ('s', 'm'), reset in place (UNLOGGED in the migration). */
export const destinationRate = pgTable(
  'destination_rate',
  {
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    windowStart: bigint('window_start', { mode: 'number' }).notNull(),
    admitted: integer('admitted').notNull(),
    refused: integer('refused').notNull().default(0),
    ok: boolean('ok').notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.name, t.kind] })],
);

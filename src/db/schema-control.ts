import { bigint, boolean, customType, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

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

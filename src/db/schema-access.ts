import { sql } from 'drizzle-orm';
import { bigint, check, index, jsonb, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';

// Who may use the ops API (api_tokens) and what they changed with it (audit_log). Migration 0008.

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const ROLES = ['viewer', 'operator', 'admin', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Ops API tokens. Only `hash` (hex SHA-256 of the whole token) is kept; `prefix` is the first
 * characters, enough for an operator to recognise a token in a list, useless for signing in.
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull(),
    role: text('role').$type<Role>().notNull(),
    hash: text('hash').notNull(),
    prefix: text('prefix').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at'),
    lastUsedAt: tstz('last_used_at'),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [
    unique('api_tokens_name_key').on(t.name),
    unique('api_tokens_hash_key').on(t.hash),
    check('api_tokens_role_check', sql`${t.role} IN ('viewer', 'operator', 'admin', 'metrics')`),
  ],
);

/** One row per change made through the ops API: who, what, on what, before and after (secrets redacted). */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: tstz('at').notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: text('target'),
    before: jsonb('before'),
    after: jsonb('after'),
    requestId: text('request_id'),
    clientAddress: text('client_address'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_action_idx').on(t.action, t.id),
    index('audit_log_actor_idx').on(t.actor, t.id),
  ],
);

export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type AuditLogRow = typeof auditLog.$inferSelect;

import { and, desc, eq, getTableColumns, gte, lt, sql, type SQL } from 'drizzle-orm';
import { isLosslessNumber } from 'lossless-json';
import { parseExactOrPlain, stringifyExact } from '../json/exact-values';
import type { Database } from '../db/client';
import { auditLog, type AuditLogRow } from '../db/schema-access';

/**
 * What a change records. `action` is `<thing>.<verb>` (`event.replay`, `events.bulk_replay`,
 * `token.create`, `token.revoke`, `source.update`, `secret.rotate`…); `target` names the thing
 * (`event:42`, `token:ci`, `source:shopify`). `before`/`after` are the thing's state around the
 * change: pass them through redactSecrets, or rely on recordAudit doing it.
 */
export interface AuditEntry {
  /** The token's name, or `bootstrap` for OPS_API_TOKEN. */
  actor: string;
  action: string;
  target?: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  clientAddress?: string | null;
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  target?: string;
  since?: Date;
  until?: Date;
  /** Keyset pagination, newest first: only entries with an id below this one. */
  beforeId?: number;
  limit: number;
}

/** Keys whose values never reach the audit log, at any depth. */
const SECRET_KEY =
  /secret|token|password|passphrase|signature|private|api[-_]?key|credential|hmac|authorization|cookie/i;

/** A copy of `value` with every secret-looking key's value replaced by "[redacted]". */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 32 || value === null || typeof value !== 'object' || isLosslessNumber(value)) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_KEY.test(k) && v !== null && v !== undefined ? '[redacted]' : redactSecrets(v, depth + 1),
    ]),
  );
}

/**
 * A state as jsonb with a filter's exact numbers (LosslessNumber) written as their digits: drizzle's
 * jsonb column would JSON.stringify them into {"value": "…", "isLosslessNumber": true}.
 */
const exactJsonb = (value: unknown) => sql`${stringifyExact(value)}::jsonb`;

/** Appends one entry. Secrets in before/after are redacted here too, whatever the caller did. */
export async function recordAudit({ db }: Database, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    actor: entry.actor,
    action: entry.action,
    target: entry.target ?? null,
    before: entry.before === undefined ? null : exactJsonb(redactSecrets(entry.before)),
    after: entry.after === undefined ? null : exactJsonb(redactSecrets(entry.after)),
    requestId: entry.requestId ?? null,
    clientAddress: entry.clientAddress ?? null,
  });
}

function matching(f: Omit<AuditFilter, 'limit'>): SQL | undefined {
  const conditions: SQL[] = [];
  if (f.action) conditions.push(eq(auditLog.action, f.action));
  if (f.actor) conditions.push(eq(auditLog.actor, f.actor));
  if (f.target) conditions.push(eq(auditLog.target, f.target));
  if (f.since) conditions.push(gte(auditLog.at, f.since));
  if (f.until) conditions.push(lt(auditLog.at, f.until));
  if (f.beforeId !== undefined) conditions.push(lt(auditLog.id, f.beforeId));
  return conditions.length ? and(...conditions) : undefined;
}

/**
 * A state read back from its jsonb text with its digits (parseExact): postgres.js and PGlite parse a
 * jsonb column with JSON.parse, which showed a filter's 820982911946154508 as 820982911946154500.
 * jsonb text never repeats a key; a state nested beyond what parseExact reads is read as before.
 */
function exactState(text: string | null): unknown {
  return text === null ? null : parseExactOrPlain(text);
}

/** The row's columns, before/after as their jsonb text (read back by exactState). */
const { before: _before, after: _after, ...scalarColumns } = getTableColumns(auditLog);
const listed = {
  ...scalarColumns,
  beforeText: sql<string | null>`${auditLog.before}::text`,
  afterText: sql<string | null>`${auditLog.after}::text`,
};

export function createAuditLog(database: Database) {
  const { db } = database;
  return {
    record: (entry: AuditEntry) => recordAudit(database, entry),
    /** Entries newest first; before/after hold their numbers' digits (LosslessNumber where needed). */
    async list(filter: AuditFilter): Promise<AuditLogRow[]> {
      const rows = await db
        .select(listed)
        .from(auditLog)
        .where(matching(filter))
        .orderBy(desc(auditLog.id))
        .limit(filter.limit);
      return rows.map(({ beforeText, afterText, ...row }) => ({
        ...row,
        before: exactState(beforeText),
        after: exactState(afterText),
      }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;

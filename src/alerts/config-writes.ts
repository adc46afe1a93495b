import { eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { alertChannels, alertRules, type AlertChannelRow, type AlertRuleRow } from '../db/schema-alerts';
import type { AlertChannelInput, AlertRuleInput } from './config';

// The writes of alert rules and channels that depend on what else is stored: a channel edit keeps
// the stored secret and URL, a rule names channels that must exist, a channel named by rules may
// not be renamed or deleted. Each check and its write are one transaction holding the rows they
// read (a channel `for update` while it changes, `for share` while a rule that names it is
// written), so two admins — or two instances — cannot interleave them: no secret written back
// from a stale read, no rule left naming a channel deleted meanwhile. Every change bumps the row's
// `version` in the same transaction; given `ifVersion` (If-Match), a row at another version is left
// as it is and the write answers `stale` with the version stored now.

/** Someone changed the row since the version sent in If-Match. */
export interface StaleWrite {
  status: 'stale';
  name: string;
  version: number;
}

export type ChannelWrite =
  | { status: 'done'; before: AlertChannelRow; row?: AlertChannelRow }
  | { status: 'missing' }
  | StaleWrite
  | { status: 'in_use'; name: string; users: string[] }
  | { status: 'name_taken' };

export type RuleWrite =
  | { status: 'done'; before?: AlertRuleRow; row: AlertRuleRow }
  | { status: 'missing' }
  | StaleWrite
  | { status: 'unknown_channels'; names: string[] }
  | { status: 'name_taken' };

type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

/** A unique index refused the row (SQLSTATE 23505), however deep the driver wrapped it. */
function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if ((e as { code?: unknown }).code === '23505') return true;
  return false;
}

/** The write, or name_taken when a concurrent write took the name first. */
async function unlessNameTaken<T>(write: () => Promise<T>): Promise<T | { status: 'name_taken' }> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) return { status: 'name_taken' };
    throw err;
  }
}

/** `stale` when If-Match named another version than the locked row's. */
const staleUnless = (
  current: { name: string; version: number },
  ifVersion: number | undefined,
): StaleWrite | undefined =>
  ifVersion === undefined || current.version === ifVersion
    ? undefined
    : { status: 'stale', name: current.name, version: current.version };

const rulesNaming = async (tx: Tx, channel: string) =>
  (
    await tx
      .select({ name: alertRules.name })
      .from(alertRules)
      .where(sql`${alertRules.channels} ? ${channel}`)
      .orderBy(alertRules.name)
  ).map((r) => r.name);

/** The channels a rule names, held `for share` until the rule is written; the names not found. */
async function holdChannels(tx: Tx, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const found = await tx
    .select({ name: alertChannels.name })
    .from(alertChannels)
    .where(inArray(alertChannels.name, [...names]))
    .for('share');
  const have = new Set(found.map((c) => c.name));
  return names.filter((n) => !have.has(n));
}

export function createAlertConfigWrites({ db }: Database) {
  return {
    /**
     * Replaces channel `id` with what `build` makes of the stored row (which it may keep the
     * secret and URL of). A rename is refused while rules name the channel.
     */
    replaceChannel: (id: number, build: (current: AlertChannelRow) => AlertChannelInput, ifVersion?: number) =>
      unlessNameTaken(() =>
        db.transaction(async (tx): Promise<ChannelWrite> => {
          const [current] = await tx.select().from(alertChannels).where(eq(alertChannels.id, id)).for('update');
          if (!current) return { status: 'missing' };
          const stale = staleUnless(current, ifVersion);
          if (stale) return stale;
          const { name, type, ...config } = build(current);
          if (name !== current.name) {
            const users = await rulesNaming(tx, current.name);
            if (users.length > 0) return { status: 'in_use', name: current.name, users };
          }
          const [row] = await tx
            .update(alertChannels)
            .set({ name, type, config, version: sql`${alertChannels.version} + 1` })
            .where(eq(alertChannels.id, id))
            .returning();
          return { status: 'done', before: current, row };
        }),
      ),

    /** Deletes channel `id` unless a rule names it. */
    removeChannel: (id: number, ifVersion?: number) =>
      db.transaction(async (tx): Promise<ChannelWrite> => {
        const [current] = await tx.select().from(alertChannels).where(eq(alertChannels.id, id)).for('update');
        if (!current) return { status: 'missing' };
        const stale = staleUnless(current, ifVersion);
        if (stale) return stale;
        const users = await rulesNaming(tx, current.name);
        if (users.length > 0) return { status: 'in_use', name: current.name, users };
        await tx.delete(alertChannels).where(eq(alertChannels.id, id));
        return { status: 'done', before: current };
      }),

    /** Creates a rule (`id` undefined) or replaces rule `id`; every channel it names must exist. */
    writeRule: (rule: AlertRuleInput, id?: number, ifVersion?: number) =>
      unlessNameTaken(() =>
        db.transaction(async (tx): Promise<RuleWrite> => {
          const unknown = await holdChannels(tx, rule.channels);
          if (id === undefined) {
            if (unknown.length > 0) return { status: 'unknown_channels', names: unknown };
            const [row] = await tx
              .insert(alertRules)
              .values(rule)
              .onConflictDoNothing({ target: alertRules.name })
              .returning();
            return row ? { status: 'done', row } : { status: 'name_taken' };
          }
          // Locked after the channels, as before (one order for every writer): a stale If-Match is
          // answered first, since the rule the caller edited is not the one stored.
          const [before] = await tx.select().from(alertRules).where(eq(alertRules.id, id)).for('update');
          if (!before) return { status: 'missing' };
          const stale = staleUnless(before, ifVersion);
          if (stale) return stale;
          if (unknown.length > 0) return { status: 'unknown_channels', names: unknown };
          const [row] = await tx
            .update(alertRules)
            .set({ ...rule, updatedAt: sql`now()`, version: sql`${alertRules.version} + 1` })
            .where(eq(alertRules.id, id))
            .returning();
          return { status: 'done', before, row: row! };
        }),
      ),

    /** Deletes rule `id` (its alerts go with it, by cascade). */
    removeRule: (id: number, ifVersion?: number) =>
      db.transaction(async (tx): Promise<RuleWrite> => {
        const [before] = await tx.select().from(alertRules).where(eq(alertRules.id, id)).for('update');
        if (!before) return { status: 'missing' };
        const stale = staleUnless(before, ifVersion);
        if (stale) return stale;
        await tx.delete(alertRules).where(eq(alertRules.id, id));
        return { status: 'done', before, row: before };
      }),
  };
}

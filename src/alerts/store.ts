import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import {
  alertChannels,
  alertRules,
  alerts,
  type AlertChannelRow,
  type AlertRow,
  type AlertRuleRow,
} from '../db/schema-alerts';
import type { AlertChannelInput, AlertRuleInput } from './config';
import { createAlertConfigWrites } from './config-writes';

/** An alert with the rule it belongs to, as the notifier and the API show it. */
export interface AlertWithRule extends AlertRow {
  ruleName: string;
  ruleKind: string;
  ruleChannels: string[];
}

const withRule = {
  alert: alerts,
  ruleName: alertRules.name,
  ruleKind: alertRules.kind,
  ruleChannels: alertRules.channels,
};
const flatten = (r: {
  alert: AlertRow;
  ruleName: string;
  ruleKind: string;
  ruleChannels: string[];
}): AlertWithRule => ({
  ...r.alert,
  ruleName: r.ruleName,
  ruleKind: r.ruleKind,
  ruleChannels: r.ruleChannels,
});

/** Gives up re-sending a notice after this many failed tries (the alert stays listed with its error). */
export const MAX_NOTIFY_ATTEMPTS = 10;

/** The SQL of alerting: rules, channels, alert state and the evaluator's claim row. */
export function createAlertStore(database: Database) {
  const { db, rows } = database;
  return {
    // Rule and channel writes that depend on other rows, each in its transaction.
    ...createAlertConfigWrites(database),

    /**
     * Takes or renews the evaluator's claim row: the database decides which instance evaluates
     * (a conditional upsert, as the poll locks do). Returns whether `holder` holds it now.
     */
    async claimLease(holder: string, seconds: number): Promise<boolean> {
      const won = await rows(sql`
        insert into alert_evaluator_lease (id, holder, expires_at) values (1, ${holder}, now() + make_interval(secs => ${seconds}))
        on conflict (id) do update set holder = excluded.holder, expires_at = excluded.expires_at
        where alert_evaluator_lease.holder = excluded.holder or alert_evaluator_lease.expires_at < now()
        returning 1`);
      return won.length === 1;
    },

    async releaseLease(holder: string): Promise<void> {
      await rows(sql`delete from alert_evaluator_lease where id = 1 and holder = ${holder}`);
    },

    rules: (): Promise<AlertRuleRow[]> => db.select().from(alertRules).orderBy(asc(alertRules.name)),
    rule: async (id: number): Promise<AlertRuleRow | undefined> =>
      (await db.select().from(alertRules).where(eq(alertRules.id, id)))[0],

    /**
     * Creates a rule, or replaces the one of the same name (config-file sync). Its version moves
     * only when the file changed it: an edit begun before a restart that changed nothing still saves.
     */
    async upsertRule(rule: AlertRuleInput): Promise<AlertRuleRow> {
      const [row] = await db
        .insert(alertRules)
        .values(rule)
        .onConflictDoUpdate({
          target: alertRules.name,
          set: {
            kind: rule.kind,
            params: rule.params,
            channels: rule.channels,
            enabled: rule.enabled,
            updatedAt: sql`now()`,
            version: sql`case when (${alertRules.kind}, ${alertRules.params}, ${alertRules.channels}, ${alertRules.enabled})
              is distinct from (excluded.kind, excluded.params, excluded.channels, excluded.enabled)
              then ${alertRules.version} + 1 else ${alertRules.version} end`,
          },
        })
        .returning();
      return row!;
    },

    channels: (): Promise<AlertChannelRow[]> => db.select().from(alertChannels).orderBy(asc(alertChannels.name)),
    channel: async (id: number): Promise<AlertChannelRow | undefined> =>
      (await db.select().from(alertChannels).where(eq(alertChannels.id, id)))[0],
    channelsNamed: (names: readonly string[]): Promise<AlertChannelRow[]> =>
      names.length === 0
        ? Promise.resolve([])
        : db
            .select()
            .from(alertChannels)
            .where(inArray(alertChannels.name, [...names])),

    async upsertChannel(channel: AlertChannelInput): Promise<AlertChannelRow> {
      const { name, type, ...config } = channel;
      const [row] = await db
        .insert(alertChannels)
        .values({ name, type, config })
        .onConflictDoUpdate({
          target: alertChannels.name,
          set: {
            type,
            config,
            version: sql`case when (${alertChannels.type}, ${alertChannels.config}) is distinct from (excluded.type, excluded.config)
              then ${alertChannels.version} + 1 else ${alertChannels.version} end`,
          },
        })
        .returning();
      return row!;
    },

    async createChannel(channel: AlertChannelInput): Promise<AlertChannelRow | undefined> {
      const { name, type, ...config } = channel;
      const [row] = await db
        .insert(alertChannels)
        .values({ name, type, config })
        .onConflictDoNothing({ target: alertChannels.name })
        .returning();
      return row;
    },

    openAlerts: (ruleId: number): Promise<AlertRow[]> =>
      db
        .select()
        .from(alerts)
        .where(and(eq(alerts.ruleId, ruleId), eq(alerts.status, 'open'))),

    /** Opens an alert unless one is open for the rule and key already (the partial unique index decides). */
    async open(ruleId: number, key: string, summary: string): Promise<AlertRow | undefined> {
      const [row] = await db
        .insert(alerts)
        .values({ ruleId, conditionKey: key, summary })
        .onConflictDoNothing({ target: [alerts.ruleId, alerts.conditionKey], where: sql`status = 'open'` })
        .returning();
      return row;
    },

    /** The latest summary of a condition still holding; no notice is due for it. */
    async refreshSummary(id: number, summary: string): Promise<void> {
      await db
        .update(alerts)
        .set({ summary })
        .where(and(eq(alerts.id, id), eq(alerts.status, 'open')));
    },

    async resolve(id: number): Promise<void> {
      await db
        .update(alerts)
        .set({ status: 'resolved', resolvedAt: sql`now()` })
        .where(and(eq(alerts.id, id), eq(alerts.status, 'open')));
    },

    /** Alerts with an opening or resolving notice not sent yet, oldest first. */
    async pendingNotices(limit = 50): Promise<AlertWithRule[]> {
      const found = await db
        .select(withRule)
        .from(alerts)
        .innerJoin(alertRules, eq(alertRules.id, alerts.ruleId))
        .where(
          and(
            lt(alerts.notifyAttempts, MAX_NOTIFY_ATTEMPTS),
            sql`(${alerts.openedNotifiedAt} is null or (${alerts.status} = 'resolved' and ${alerts.resolvedNotifiedAt} is null))`,
          ),
        )
        .orderBy(asc(alerts.id))
        .limit(limit);
      return found.map(flatten);
    },

    async markNotified(id: number, notice: 'opened' | 'resolved'): Promise<void> {
      const column = notice === 'opened' ? { openedNotifiedAt: sql`now()` } : { resolvedNotifiedAt: sql`now()` };
      await db
        .update(alerts)
        .set({ ...column, notifyError: null, notifyAttempts: 0 })
        .where(eq(alerts.id, id));
    },

    async markNotifyFailed(id: number, error: string): Promise<void> {
      await db
        .update(alerts)
        .set({ notifyError: error.slice(0, 500), notifyAttempts: sql`${alerts.notifyAttempts} + 1` })
        .where(eq(alerts.id, id));
    },

    /** Newest first, keyset-paginated on id. */
    async list(filter: {
      status?: 'open' | 'resolved';
      rule?: string;
      beforeId?: number;
      limit: number;
    }): Promise<AlertWithRule[]> {
      const found = await db
        .select(withRule)
        .from(alerts)
        .innerJoin(alertRules, eq(alertRules.id, alerts.ruleId))
        .where(
          and(
            filter.status === undefined ? undefined : eq(alerts.status, filter.status),
            filter.rule === undefined ? undefined : eq(alertRules.name, filter.rule),
            filter.beforeId === undefined ? undefined : lt(alerts.id, filter.beforeId),
          ),
        )
        .orderBy(desc(alerts.id))
        .limit(filter.limit);
      return found.map(flatten);
    },
  };
}

export type AlertStore = ReturnType<typeof createAlertStore>;

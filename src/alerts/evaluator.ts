import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { describeError } from '../errors';
import type { AlertNotice, SendNotice } from './channels';
import type { AlertRuleKind } from './config';
import type { Condition } from './conditions-sql';
import type { AlertStore, AlertWithRule } from './store';

export interface AlertEvaluatorOptions {
  store: AlertStore;
  conditions: Record<AlertRuleKind, (params: Record<string, unknown>) => Promise<Condition[]>>;
  send: SendNotice;
  logger: Logger;
  everyMs: number;
  /** Observes each notice sent or failed, by channel type. */
  onNotice?: (channelType: string, outcome: 'sent' | 'failed') => void;
}

/** "1 h 5 min", "12 min", "40 s": how long an alert was open. */
function openFor(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The resolve notice's summary: that it resolved, after how long, and what it last said. */
const resolvedSummary = (alert: AlertWithRule) =>
  `Resolved after ${openFor((alert.resolvedAt ?? new Date()).getTime() - alert.openedAt.getTime())}: the condition no longer holds (last: ${alert.summary})`;

/**
 * The alert loop. Every `everyMs` the instance that holds the evaluator's claim row checks each
 * rule: a condition that holds and has no open alert opens one (the partial unique index allows
 * one per rule and key: no storms), and one still holding gets the condition's latest summary (no
 * notice); an open alert whose condition no longer holds is resolved
 * (a disabled rule holds nothing, so its alerts resolve). Then the notices not yet sent go out —
 * also those a failed channel left behind, up to MAX_NOTIFY_ATTEMPTS tries.
 */
export function createAlertEvaluator(options: AlertEvaluatorOptions) {
  const { store, logger } = options;
  const holder = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  // Long enough to survive a slow tick, short enough that another instance takes over quickly.
  const leaseSeconds = Math.max(15, Math.ceil((3 * options.everyMs) / 1000));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function evaluate(): Promise<void> {
    for (const rule of await store.rules()) {
      const kind = rule.kind as AlertRuleKind;
      let holding: Condition[];
      try {
        holding = rule.enabled ? await options.conditions[kind](rule.params) : [];
      } catch (err) {
        logger.warn({ rule: rule.name, cause: err }, 'alert rule could not be evaluated');
        continue;
      }
      const open = await store.openAlerts(rule.id);
      const openByKey = new Map(open.map((a) => [a.conditionKey, a]));
      const holdingKeys = new Set(holding.map((c) => c.key));
      for (const condition of holding) {
        const already = openByKey.get(condition.key);
        // Still holding: the summary shown follows the condition (more failures, a longer wait);
        // no notice, those go out on opening and resolving only.
        if (already) {
          if (already.summary !== condition.summary) await store.refreshSummary(already.id, condition.summary);
          continue;
        }
        const opened = await store.open(rule.id, condition.key, condition.summary);
        if (opened)
          logger.warn(
            { rule: rule.name, condition: condition.key, alertId: opened.id },
            `alert opened: ${condition.summary}`,
          );
      }
      for (const alert of open) {
        if (holdingKeys.has(alert.conditionKey)) continue;
        await store.resolve(alert.id);
        logger.info({ rule: rule.name, condition: alert.conditionKey, alertId: alert.id }, 'alert resolved');
      }
    }
  }

  async function notify(alert: AlertWithRule, type: AlertNotice['type']): Promise<void> {
    const notice: AlertNotice = {
      type,
      alertId: alert.id,
      rule: alert.ruleName,
      kind: alert.ruleKind,
      condition: alert.conditionKey,
      summary: type === 'alert.opened' ? alert.summary : resolvedSummary(alert),
      openedAt: alert.openedAt,
      resolvedAt: alert.resolvedAt,
    };
    const channels = await store.channelsNamed(alert.ruleChannels);
    const failures: string[] = [];
    for (const channel of channels) {
      // A send may take up to its timeout: renew the claim before each, so a slow channel cannot
      // outlast the lease and let another instance send the same notice meanwhile.
      if (!(await store.claimLease(holder, leaseSeconds)))
        throw new Error('alert evaluator lease lost while notifying');
      try {
        await options.send(channel, notice);
        options.onNotice?.(channel.type, 'sent');
      } catch (err) {
        options.onNotice?.(channel.type, 'failed');
        failures.push(`${channel.name}: ${describeError(err)}`);
      }
    }
    if (failures.length > 0) {
      await store.markNotifyFailed(alert.id, failures.join('; '));
      logger.warn({ alertId: alert.id, failures }, 'alert notice not delivered; it is retried on the next tick');
      return;
    }
    await store.markNotified(alert.id, type === 'alert.opened' ? 'opened' : 'resolved');
  }

  async function sendPending(): Promise<void> {
    for (const alert of await store.pendingNotices()) {
      if (!alert.openedNotifiedAt) {
        await notify(alert, 'alert.opened');
        // The resolve notice waits until the opening one is out.
        continue;
      }
      if (alert.status === 'resolved') await notify(alert, 'alert.resolved');
    }
  }

  async function tick(): Promise<void> {
    try {
      if (!(await store.claimLease(holder, leaseSeconds))) return;
      await evaluate();
      await sendPending();
    } catch (err) {
      logger.error({ cause: err }, 'alert evaluation failed');
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = undefined;
        schedule();
      });
    }, options.everyMs);
    timer.unref();
  }

  return {
    holder,
    start(): void {
      stopped = false;
      running = tick().finally(() => {
        running = undefined;
        schedule();
      });
    },
    /** Runs one evaluation now (tests). */
    tick,
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
      await store.releaseLease(holder).catch(() => {});
    },
  };
}

export type AlertEvaluator = ReturnType<typeof createAlertEvaluator>;

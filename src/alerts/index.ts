import type { Logger } from 'pino';
import type { Database } from '../db/client';
import type { OpenSocket } from '../outbound/guarded-socket';
import { createNoticeSender } from './channels';
import { createConditionQueries } from './conditions-sql';
import type { AlertsConfig } from './config';
import { createAlertEvaluator } from './evaluator';
import { createAlertStore } from './store';

export { createAlertStore, type AlertStore } from './store';

/**
 * Starts alerting in this process: writes the config file's channels and rules (by name, so the
 * file wins over an API edit of the same name at each start), then the evaluator loop. Every
 * instance with a worker runs the loop; the claim row lets one of them act at a time.
 */
export async function startAlerts(options: {
  database: Database;
  config: AlertsConfig;
  logger: Logger;
  onNotice?: (channelType: string, outcome: 'sent' | 'failed') => void;
  /** Posts webhook and Slack notices (the gateway's guarded fetch); defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Connects to the SMTP server (the gateway's guarded socket opener); nodemailer's own by default. */
  openSocket?: OpenSocket;
}) {
  const store = createAlertStore(options.database);
  for (const channel of options.config.channels) await store.upsertChannel(channel);
  for (const rule of options.config.rules) await store.upsertRule(rule);
  const sender = createNoticeSender(options.config.smtp, options.fetch, options.openSocket);
  const evaluator = createAlertEvaluator({
    store,
    conditions: createConditionQueries(options.database),
    send: sender.send,
    logger: options.logger.child({ component: 'alerts' }),
    everyMs: options.config.evaluateEveryMs,
    onNotice: options.onNotice,
  });
  evaluator.start();
  return {
    evaluator,
    async stop() {
      await evaluator.stop();
      sender.close();
    },
  };
}

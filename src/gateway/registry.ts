import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import { createRegistry } from '../control/registry';
import type { ControlStore } from '../control/store';
import type { Database } from '../db/client';
import type { PushSource } from '../ingest/sources';

/**
 * The source registry: config-file and environment sources plus those managed at runtime in the
 * database; poll sources' names are reserved so no push source can take them.
 */
export function createSourceRegistry(deps: {
  config: GatewayConfig;
  database: Database;
  controlStore: ControlStore;
  sources: PushSource[];
  logger: Logger;
  /** Re-read with the sources (the destination catalog), and called after each re-read (wake). */
  alsoLoad?: { load(): Promise<void> };
  onRefreshed?: () => void;
}) {
  const { config } = deps;
  return createRegistry({
    database: deps.database,
    store: deps.controlStore,
    fileSources: deps.sources,
    reservedNames: config.polls.map((p) => p.name),
    keyring: config.control.keyring,
    defaultRateLimit: config.rateLimit,
    retryDefaults: { baseMs: config.worker.retryBaseMs, maxMs: config.worker.retryMaxMs },
    ingestBodyBudgetBytes: config.ingestBodyBudgetBytes,
    logger: deps.logger.child({ component: 'control' }),
    refreshMs: config.control.refreshMs,
    alsoLoad: deps.alsoLoad,
    onRefreshed: deps.onRefreshed,
  });
}

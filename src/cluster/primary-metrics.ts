import { Counter, Registry } from 'prom-client';
import { snapshotRegistry, type WireMetric } from '../ops/metrics-snapshot';

/**
 * What only the primary of `start --web-processes N` can count: the children it started again.
 * A child cannot count its own restarts (its counters die with it), so the primary keeps this
 * registry and adds it to every group scrape it relays (./metrics-relay.ts).
 */
export function createPrimaryMetrics(processes: readonly string[]) {
  const registry = new Registry();
  const restarts = new Counter({
    name: 'webhook_gateway_process_restarts_total',
    help: 'Gateway processes the supervisor started again after they died, by process (web-0…, worker)',
    labelNames: ['process'],
    registers: [registry],
  });
  // Every process at 0 from the start: a first restart is then an increase, not a new series.
  for (const process of processes) restarts.inc({ process }, 0);
  return {
    /** The supervisor started `process` again after it died. */
    restarted: (process: string) => restarts.inc({ process }),
    /** This registry as a part of a group scrape. */
    snapshot: (): Promise<WireMetric[]> => snapshotRegistry(registry),
  };
}

export type PrimaryMetrics = ReturnType<typeof createPrimaryMetrics>;

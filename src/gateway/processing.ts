import type { z } from 'zod';
import type { GatewayConfig } from '../config/env';
import type { ForwardingOptions } from '../deliver/destinations';
import type { Database } from '../db/client';
import { createDeliveryLog, type DeliveryLog } from '../store/deliveries';
import { keycloakAuditHandler } from '../handlers/keycloak-audit';
import { sourcesFromConfig } from '../ingest/sources';
import type { SystemLog } from '../store/system-log';
import type { BackoffPolicy } from '../worker/backoff';
import type { HandlerRegistry } from '../worker/handlers';

/** What applying the processing config needs of the gateway: its registration methods. */
export interface ProcessingTarget {
  forward(source: string, options: Omit<ForwardingOptions, 'deliveries'>, topic?: string): unknown;
  validate(source: string, topic: string, schema: z.ZodType): unknown;
}

export type ProcessingLookups = ReturnType<typeof applyProcessingConfig>;

/**
 * Turns the config file's per-source processing keys into registrations: destinations become the
 * forwarding handler, JSON Schemas payload checks; retry and mask become lookups for the worker
 * and the ops API.
 */
export function applyProcessingConfig(config: GatewayConfig, gateway: ProcessingTarget) {
  const backoff = new Map<string, BackoffPolicy>();
  const masks = new Map<string, readonly string[]>();
  for (const source of config.sources) {
    const p = source.processing;
    if (p.destinations.length > 0) {
      gateway.forward(source.name, {
        destinations: p.destinations,
        provider: source.provider,
        aggregateIdPath: p.aggregateIdPath,
        tenantContext: p.tenantContext,
      });
    }
    for (const [topic, schema] of Object.entries(p.schemas)) gateway.validate(source.name, topic, schema);
    if (p.mask.length > 0) masks.set(source.name, p.mask);
    if (p.retry?.baseMs || p.retry?.maxMs) {
      backoff.set(source.name, {
        baseMs: p.retry.baseMs ?? config.worker.retryBaseMs,
        maxMs: p.retry.maxMs ?? config.worker.retryMaxMs,
      });
    }
  }
  return {
    backoffFor: (source: string) => backoff.get(source),
    maskFor: (source: string) => masks.get(source) ?? [],
    maskedSources: [...masks.keys()],
  };
}

/**
 * Every Keycloak source is audited, whatever it is named (env "keycloak" or a config-file one),
 * unless a handler of its own (destinations, an embedder's) already takes its events.
 */
export function registerKeycloakAudit(config: GatewayConfig, handlers: HandlerRegistry, systemLog: SystemLog): void {
  for (const source of sourcesFromConfig(config).filter((s) => s.provider.name === 'keycloak')) {
    if (!handlers.resolve(source.name, '*')) handlers.on(source.name, '*', keycloakAuditHandler(systemLog));
  }
}

/** The delivery log of forwarding handlers, which are registered before the database is open. */
export function lazyDeliveryLog(database: () => Database): DeliveryLog {
  return {
    deliveredDestinations: (eventId) => createDeliveryLog(database()).deliveredDestinations(eventId),
    record: (attempt) => createDeliveryLog(database()).record(attempt),
    forEvent: (eventId) => createDeliveryLog(database()).forEvent(eventId),
  };
}

import type { z } from 'zod';
import type { GatewayConfig } from '../config/env';
import type { ForwardingOptions } from '../deliver/destinations';
import type { Database } from '../db/client';
import { createDeliveryLog, type DeliveryLog } from '../store/deliveries';
import { keycloakAuditHandler } from '../handlers/keycloak-audit';
import { sourcesFromConfig } from '../ingest/sources';
import type { SystemLog } from '../store/system-log';
import type { BackoffPolicy } from '../worker/backoff';
import type { EventHandler, HandlerRegistry } from '../worker/handlers';
import type { RuntimeDestinations } from '../control/destination-wiring';
import type { SourceMask } from '../ops/source-mask';
import { checkFileTransforms } from '../transform';

/** What applying the processing config needs of the gateway: its registration methods. */
export interface ProcessingTarget {
  on(source: string, topic: string, handler: EventHandler): unknown;
  forward(source: string, options: Omit<ForwardingOptions, 'deliveries'>, topic?: string): unknown;
  validate(source: string, topic: string, schema: z.ZodType): unknown;
}

export type ProcessingLookups = ReturnType<typeof applyProcessingConfig>;

/**
 * Turns the config file's per-source processing keys into registrations: destinations become the
 * forwarding handler, JSON Schemas payload checks; retry and mask become lookups for the worker
 * and the ops API (database sources' own keys are added by the runtime routing).
 */
export function applyProcessingConfig(config: GatewayConfig, gateway: ProcessingTarget, runtime: RuntimeDestinations) {
  const backoff = new Map<string, BackoffPolicy>();
  const masks = new Map<string, readonly string[]>();
  for (const source of config.sources) {
    const p = source.processing;
    // Inline destinations: the runtime forwarder (src/control/destination-wiring.ts) also sends
    // to the database destinations attached to the source, resolved at each attempt.
    if (p.destinations.length > 0) gateway.on(source.name, '*', runtime.forwarder);
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
    backoffFor: (source: string) =>
      backoff.get(source) ??
      runtime.routing.backoffFor(source, { baseMs: config.worker.retryBaseMs, maxMs: config.worker.retryMaxMs }),
    /** What the ops API hides of the source's events (src/ops/source-mask.ts). */
    maskFor: (source: string): SourceMask => runtime.routing.viewMask(source),
    /** Where a source's events carry their JSON when not as the body (src/routing/document.ts). */
    documentOf: runtime.routing.documentOf,
    // Database sources' masks change at runtime: read per request.
    maskedSources: () => [...masks.keys(), ...runtime.routing.maskedSources()],
  };
}

/**
 * Every Keycloak source is audited, whatever it is named (env "keycloak" or a config-file one),
 * unless a handler of its own (destinations, an embedder's) already takes its events.
 */
export function registerKeycloakAudit(config: GatewayConfig, handlers: HandlerRegistry, systemLog: SystemLog): void {
  for (const source of sourcesFromConfig(config).filter((s) => s.provider.name === 'keycloak')) {
    const mask = config.sources.find((s) => s.name === source.name)?.processing.mask ?? [];
    if (!handlers.resolve(source.name, '*')) handlers.on(source.name, '*', keycloakAuditHandler(systemLog, mask));
  }
}

/** The delivery log of forwarding handlers, which are registered before the database is open. */
export function lazyDeliveryLog(database: () => Database): DeliveryLog {
  return {
    settledDestinations: (eventId, receivedAt) =>
      createDeliveryLog(database()).settledDestinations(eventId, receivedAt),
    record: (attempt) => createDeliveryLog(database()).record(attempt),
    forEvent: (eventId) => createDeliveryLog(database()).forEvent(eventId),
  };
}

/** Checks the config file's transforms (destinations' and sources') in the sandbox before anything starts. */
export function checkProcessingTransforms(config: GatewayConfig): Promise<void> {
  return checkFileTransforms(
    [...config.destinations, ...config.sources.flatMap((s) => s.processing.destinations)],
    config.sources.map((s) => ({ name: s.name, transform: s.processing.transform })),
  );
}

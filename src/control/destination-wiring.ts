import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import type { Database } from '../db/client';
import { forwardByPlan } from '../deliver/destinations';
import { createProtection, type Protection } from '../deliver/protection';
import { createProtectionStore } from '../deliver/protection-sql';
import { recordAudit } from '../store/audit';
import { auditContext } from '../ops/audit-context';
import type { createAuditLog } from '../store/audit';
import type { DeliveryLog } from '../store/deliveries';
import { createEventStore } from '../store/events';
import type { HandlerRegistry } from '../worker/handlers';
import type { Keyring } from './crypto';
import { createDestinationCatalog, type DestinationCatalog } from './destination-catalog';
import { createDestinationRouting } from './destination-routing';
import { createDestinationRoutes } from './destination-routes';
import { createDestinationService } from './destination-service';
import { createDestinationStore } from './destination-store';
import type { Registry } from './registry';
import type { Outbound } from '../outbound/guarded-fetch';

export interface DestinationWiringDeps {
  config: GatewayConfig;
  handlers: HandlerRegistry;
  /** Late-bound: both exist once the gateway has started. */
  registry: () => Registry | undefined;
  /** Lazy: handlers are registered before the database is open (src/gateway/processing.ts). */
  deliveries: DeliveryLog;
  /** The guarded fetch deliveries use, and the policy a new URL is checked against. */
  outbound: Outbound;
}

/**
 * Everything runtime destinations need, built before start() (handlers are registered then) and
 * connected in start(): the catalog the registry re-reads, the per-attempt routing, the forwarding
 * handler, and the /api/destinations routes. Keeps src/gateway.ts to a few lines of wiring.
 */
export function wireDestinations(deps: DestinationWiringDeps) {
  let catalog: DestinationCatalog | undefined;
  // Until start() there is no database: an empty catalog (nothing is delivered before start anyway).
  const late: DestinationCatalog = {
    load: async () => catalog?.load(),
    get: (name) => catalog?.get(name),
    lookup: async (name) => catalog?.lookup(name),
    all: () => catalog?.all() ?? [],
    attachedTo: (source) => catalog?.attachedTo(source) ?? [],
  };
  const routing = createDestinationRouting({
    fileSources: deps.config.sources,
    fileDestinations: deps.config.destinations,
    registry: deps.registry,
    catalog: late,
  });
  let protection: Protection | undefined;
  const forwarder = forwardByPlan({
    deliveries: deps.deliveries,
    planFor: routing.planFor,
    protection: () => protection,
    fetch: deps.outbound.fetch,
    // Each attempt posts only to database destinations still stored as its plan has them.
    storedStates: (names) => storedDestinations!.states(names),
  });
  let database: Database | undefined;
  let storedDestinations: ReturnType<typeof createDestinationStore> | undefined;
  const fileNames = new Set([
    ...deps.config.destinations.map((d) => d.name),
    ...deps.config.sources.flatMap((s) => s.processing.destinations.map((d) => d.name)),
  ]);

  return {
    routing,
    forwarder,
    catalog: late,

    /**
     * Opens the catalog on the database, and makes the forwarder the handler of every event no
     * other handler takes, so database sources and attached destinations need no registration.
     * Called after the gateway's own handlers (Keycloak audit) are registered.
     */
    start(db: Database, keyring: Keyring | undefined, logger: Logger, wake: () => void = () => {}) {
      database = db;
      const store = createDestinationStore(db);
      storedDestinations = store;
      catalog = createDestinationCatalog({ store, keyring, logger });
      protection = createProtection({
        store: createProtectionStore(db),
        logger,
        onReleased: wake,
        // A database destination that answers 410 is paused with the reason, once, audited; a file
        // destination cannot be (the file owns it): its circuit is open (protection.ts) instead.
        onGone: async (name) => {
          if (fileNames.has(name) || !(await store.markGone(name, GONE_REASON))) return;
          await recordAudit(db, {
            actor: 'gateway',
            action: 'destination.pause',
            target: `destination:${name}`,
            before: { paused: false },
            after: { paused: true, paused_reason: GONE_REASON },
          });
        },
      });
      deps.handlers.otherwise(forwarder);
    },

    /** The destinations' rate limits and circuits (undefined before start()). */
    get protection() {
      return protection;
    },

    /** The /api/destinations routes, audited like the sources' (before/after without secrets). */
    routes(
      registry: Registry,
      audit: ReturnType<typeof createAuditLog>,
      trustProxy: GatewayConfig['trustProxy'],
      onReleased: () => void,
    ) {
      const destinations = createDestinationService({
        store: createDestinationStore(database!),
        catalog: late,
        registry,
        fileSources: deps.config.sources,
        fileDestinations: deps.config.destinations,
        keyring: deps.config.control.keyring,
        outbound: deps.outbound.policy,
      });
      const events = createEventStore(database!);
      const files = [
        ...deps.config.destinations,
        ...deps.config.sources.flatMap((s) => s.processing.destinations.map((d) => ({ ...d, sources: [s.name] }))),
      ];
      return createDestinationRoutes({
        destinations,
        onReleased,
        preview: {
          planFor: routing.planFor,
          sourceTransform: routing.sourceTransform,
          maskFor: routing.viewMask,
          documentOf: routing.documentOf,
          event: (id) => events.get(id),
          destination: async (name) => {
            const file = files.find((d) => d.name === name);
            if (file) return { destination: file, sources: file.sources };
            // Read from the database when this instance has not heard of it yet (created elsewhere).
            const found = await late.lookup(name);
            return found && { destination: found.destination, problem: found.problem, sources: found.row.sources };
          },
        },
        audit: async (change, c) => {
          await audit.record({
            ...auditContext(c, trustProxy),
            action: change.action,
            target: `destination:${change.destination}`,
            before: change.before,
            after: change.after,
          });
        },
      });
    },
  };
}

const GONE_REASON = 'gone: HTTP 410';

export type RuntimeDestinations = ReturnType<typeof wireDestinations>;

import type { z } from 'zod';
import type { FileDestination, SourceConfig } from '../config/file';
import type { ProcessingConfig } from '../config/processing';
import type { ForwardingPlan } from '../deliver/destinations';
import type { BackoffPolicy } from '../worker/backoff';
import type { SourceTransformRule } from '../worker/source-transform';
import { FILE_TRANSFORM_VERSION } from '../transform/types';
import { SchemaRegistry } from '../worker/validation';
import type { DestinationCatalog } from './destination-catalog';
import type { Registry } from './registry';
import { NO_MASK, sourceMask, type SourceMask } from '../ops/source-mask';

export interface RoutingDeps {
  /** The config file's sources (their inline destinations and processing keys). */
  fileSources: readonly SourceConfig[];
  /** The config file's top-level destinations, each naming its sources. */
  fileDestinations: readonly FileDestination[];
  /** Late-bound: the registry exists once the gateway has started. */
  registry: () => Registry | undefined;
  catalog: DestinationCatalog;
}

/**
 * Where each source's events go and how they are processed, looked up from the registry snapshot
 * at attempt time: the file's inline destinations, a database source's own processing keys, and
 * the database destinations attached to the source. Nothing is cached here, so a change is used by
 * the next attempt after the registry re-reads (NOTIFY, within a second).
 */
export function createDestinationRouting(deps: RoutingDeps) {
  const files = new Map(deps.fileSources.map((s) => [s.name, s]));
  const schemaCache = new WeakMap<ProcessingConfig, SchemaRegistry>();
  // Per registry entry: a refresh replaces a changed source's entry, and with it its mask.
  const viewMasks = new WeakMap<object, SourceMask>();

  /** A database source's processing keys; file sources' are wired once at start. */
  const runtimeProcessing = (source: string): ProcessingConfig | undefined => {
    const found = deps.registry()?.resolve(source);
    return found?.managedBy === 'database' ? found.processing : undefined;
  };

  /** The source's masked payload paths: the file's, or the database source's. */
  const maskedPaths = (source: string): readonly string[] =>
    files.get(source)?.processing.mask ?? runtimeProcessing(source)?.mask ?? [];

  return {
    planFor(source: string): ForwardingPlan | undefined {
      const file = files.get(source);
      const registered = deps.registry()?.resolve(source);
      const own = file?.processing ?? (registered?.managedBy === 'database' ? registered.processing : undefined);
      const attached = deps.catalog.attachedTo(source);
      const inline = [...(own?.destinations ?? []), ...deps.fileDestinations.filter((d) => d.sources.includes(source))];
      if (inline.length === 0 && attached.length === 0) return undefined;
      const inlineNames = new Set(inline.map((d) => d.name));
      // A file destination keeps its name: a database one of the same name is not used twice.
      const extra = attached.filter((d) => !inlineNames.has(d.row.name));
      return {
        destinations: [...inline, ...extra.flatMap((d) => (d.destination && !d.row.paused ? [d.destination] : []))],
        paused: extra.filter((d) => d.row.paused).map((d) => d.row.name),
        pausedFilters: Object.fromEntries(
          extra.flatMap((d) => (d.row.paused && d.row.filter ? [[d.row.name, d.row.filter] as const] : [])),
        ),
        unusable: extra
          .filter((d) => !d.destination && !d.row.paused)
          .map((d) => ({ name: d.row.name, problem: d.problem ?? 'unusable' })),
        provider: file?.provider ?? registered?.row?.provider ?? registered?.provider.name,
        aggregateIdPath: own?.aggregateIdPath,
        tenantContext: own?.tenantContext,
        masksPayload: maskedPaths(source).length > 0,
      };
    },

    /**
     * The source's transformation and the version attempts record (a file source's: 0, it has no
     * versions); undefined when it has none, which is all a source without one costs per attempt.
     */
    sourceTransform(source: string): SourceTransformRule | undefined {
      const found = deps.registry()?.resolve(source);
      if (!found?.transform) return undefined;
      const masksPayload = maskedPaths(source).length > 0;
      return {
        transform: found.transform,
        version: found.row?.transformVersion ?? FILE_TRANSFORM_VERSION,
        masksPayload,
      };
    },

    /** The source provider's documentOf (providers/types.ts): where its events' JSON is, when not the body. */
    documentOf: (source: string) => deps.registry()?.resolve(source)?.provider.documentOf,

    /** Payload schemas: a database source's own, else the registry built from the file at start. */
    schemas(fixed: SchemaRegistry): Pick<SchemaRegistry, 'check'> {
      return {
        check(source: string, topic: string, payloadOf: () => unknown) {
          const processing = runtimeProcessing(source);
          if (!processing) return fixed.check(source, topic, payloadOf);
          let registry = schemaCache.get(processing);
          if (!registry) {
            registry = new SchemaRegistry();
            for (const [t, schema] of Object.entries(processing.schemas) as [string, z.ZodType][])
              registry.add(source, t, schema);
            schemaCache.set(processing, registry);
          }
          registry.check(source, topic, payloadOf);
        },
      };
    },

    /** A database source's retry backoff (base_ms/max_ms), completed with the gateway's defaults. */
    backoffFor(source: string, defaults: BackoffPolicy): BackoffPolicy | undefined {
      const retry = runtimeProcessing(source)?.retry;
      if (!retry?.baseMs && !retry?.maxMs) return undefined;
      return { baseMs: retry.baseMs ?? defaults.baseMs, maxMs: retry.maxMs ?? defaults.maxMs };
    },

    /** Database sources that mask payload fields (their payloads are never searched). */
    maskedSources: (): string[] =>
      (deps.registry()?.all() ?? [])
        .filter((s) => s.managedBy === 'database' && (s.processing?.mask.length ?? 0) > 0)
        .map((s) => s.name),

    /**
     * What the ops API hides of a source's events: its masked paths (the file's or the database
     * source's) and the identity fields and ordering key read from them. The one place a view gets
     * its mask from, so no view can show what another hides.
     */
    viewMask: (source: string): SourceMask => {
      const registered = deps.registry()?.resolve(source);
      const paths = maskedPaths(source);
      if (paths.length === 0) return NO_MASK;
      if (!registered) return sourceMask(paths, undefined);
      let mask = viewMasks.get(registered);
      if (!mask) {
        mask = sourceMask(paths, { identityPaths: registered.provider.identityPaths, ordering: registered.ordering });
        viewMasks.set(registered, mask);
      }
      return mask;
    },
  };
}

export type DestinationRouting = ReturnType<typeof createDestinationRouting>;

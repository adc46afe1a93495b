import type { SourceView } from '../control/view-shapes';
import type { EnvelopeOptions } from '../deliver/envelope';
import { CliError, terminalSafe, type CliContext } from './context';
import type { OpsClient } from './ops-client';

/** Sources the environment alone makes (SHOPIFY_WEBHOOK_SECRET, …): no settings beyond their provider. */
const ENV_SOURCES = new Set(['shopify', 'easypost', 'keycloak']);

/**
 * What `listen --envelope` builds a source's envelope with, as a delivery to its destinations
 * does (src/control/destination-routing.ts, planFor): the provider (where aggregate_id is read),
 * and the source's own aggregate_id_path and tenant_context. The running gateway says where the
 * source comes from: one created at runtime (ops API, `apply`) has them in its `spec`, which
 * admin tokens see; one of the gateway's GATEWAY_CONFIG has them in that file, read here when
 * this shell has it. What cannot be known is said once per source, and the event forwarded
 * with what is known: listen follows many sources and must not stop for one.
 */
export function listenEnvelope(ctx: CliContext, client: OpsClient) {
  const cache = new Map<string, EnvelopeOptions>();
  return async (source: string): Promise<EnvelopeOptions> => {
    const known = cache.get(source);
    if (known) return known;
    const local = localProcessing(ctx, source);
    let view: SourceView;
    try {
      view = await client.get<SourceView>(`/api/sources/${encodeURIComponent(source)}`);
    } catch (err) {
      // Not answered now (exit code 1, no gateway code): asked again for the source's next event.
      // A deleted source or a refused token is settled: the stream still names the provider.
      const transient = err instanceof CliError && err.code === undefined;
      if (transient && !local)
        ctx.err(
          terminalSafe(
            `Could not read source "${source}" from the gateway (${(err as Error).message}): this envelope lacks its settings`,
          ),
        );
      if (!transient) cache.set(source, local ?? {});
      return local ?? {};
    }
    const found = view.managed_by === 'database' ? fromSpec(ctx, view) : fromFile(ctx, view, local);
    if (view.transform)
      ctx.err(
        terminalSafe(
          `Source "${source}" transforms its events before routing: its destinations get the envelope of the transformation's result, listen sends the envelope of the body as received`,
        ),
      );
    cache.set(source, found);
    return found;
  };
}

/** A runtime source: its settings from the `spec` the gateway shows admin tokens. */
function fromSpec(ctx: CliContext, view: SourceView): EnvelopeOptions {
  if (!view.spec) {
    ctx.err(
      terminalSafe(
        `The envelope of source "${view.name}" lacks the aggregate_id_path and tenant_context it may set: the gateway shows a runtime source's settings to admin tokens only (pass an admin --token for the envelope its destinations get)`,
      ),
    );
    return { provider: view.provider };
  }
  const path = view.spec.aggregate_id_path;
  const tenant = view.spec.tenant_context;
  return {
    provider: view.provider,
    aggregateIdPath: typeof path === 'string' ? path : undefined,
    tenantContext: tenant !== null && typeof tenant === 'object' ? (tenant as Record<string, unknown>) : undefined,
  };
}

/** A source of the gateway's GATEWAY_CONFIG (or environment): its settings from this shell's copy. */
function fromFile(ctx: CliContext, view: SourceView, local: EnvelopeOptions | undefined): EnvelopeOptions {
  if (local) return { ...local, provider: view.provider };
  if (!(ENV_SOURCES.has(view.name) && view.provider === view.name))
    ctx.err(
      terminalSafe(
        `The envelope of source "${view.name}" lacks the aggregate_id_path and tenant_context it may set in the gateway's GATEWAY_CONFIG, which this shell does not have (run listen with that GATEWAY_CONFIG for the envelope its destinations get)`,
      ),
    );
  return { provider: view.provider };
}

/** The source as this shell's GATEWAY_CONFIG declares it; undefined when it does not (or cannot be read). */
function localProcessing(ctx: CliContext, source: string): EnvelopeOptions | undefined {
  let declared;
  try {
    declared = ctx.config().sources.find((s) => s.name === source);
  } catch {
    return undefined;
  }
  if (!declared) return undefined;
  return {
    provider: declared.provider,
    aggregateIdPath: declared.processing.aggregateIdPath,
    tenantContext: declared.processing.tenantContext,
  };
}

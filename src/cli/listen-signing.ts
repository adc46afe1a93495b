import type { ProviderName } from '../../providers';
import { CliError, terminalSafe, type CliContext, type ConnectionOptions } from './context';
import { resolveSigningSource } from './signing-source';

/** What `listen` signs one source's forwards with; no secret: they are forwarded unsigned. */
export interface ListenSigning {
  /**
   * The source's provider as found here or on the gateway, for an arrival whose stream does not
   * name it (a gateway older than the one naming runtime sources' providers too).
   */
  provider?: ProviderName;
  secret?: string;
  providerOptions?: Readonly<Record<string, unknown>>;
}

export interface ListenSigningOptions extends ConnectionOptions {
  /** The ops token listen follows the stream with: it also reads runtime sources from the gateway. */
  token: string;
  secret?: string;
  envelope?: boolean;
}

/**
 * The secret and provider options for each source, found as `send` finds them: GATEWAY_CONFIG or
 * the environment here, else the source as the running gateway has it (created at runtime with
 * the ops API or `apply`: its options from there, the secret from --secret). Looked up once per
 * source, when its first event arrives. A source that cannot be signed for is forwarded unsigned
 * with the reason printed once: listen follows many sources and must not stop for one.
 */
export function listenSigning(ctx: CliContext, options: ListenSigningOptions) {
  const cache = new Map<string, ListenSigning>();
  return async (source: string): Promise<ListenSigning> => {
    const known = cache.get(source);
    if (known) return known;
    // The envelope is signed with a whsec_ key of the user's, whatever the source.
    if (options.envelope) return { secret: options.secret };
    const { url, token, answerTimeoutMs, secret } = options;
    try {
      const resolved = await resolveSigningSource(ctx, source, { url, token, answerTimeoutMs, secret });
      const found = { provider: resolved.provider, secret: resolved.secret, providerOptions: resolved.providerOptions };
      cache.set(source, found);
      return found;
    } catch (err) {
      // The gateway's failure to answer the look-up (exit code 1) may pass: asked again for the
      // source's next event. Anything else (no secret, a refusal, an unknown name) is settled.
      if (err instanceof CliError && err.exitCode === 1) {
        ctx.err(
          terminalSafe(
            `Could not read source "${source}" from the gateway (${err.message}): this event is forwarded unsigned`,
          ),
        );
        return {};
      }
      ctx.err(terminalSafe(`${(err as Error).message}. Its events are forwarded unsigned`));
      cache.set(source, {});
      return {};
    }
  };
}

import type { ProviderName } from '../../providers';
import type { SourceView } from '../control/view-shapes';
import { CannotSignError, SIGNED_PROVIDERS, SIGNERS } from '../senders/signers';
import { answerTimeout, CliError, gatewayUrl, usageError, type CliContext, type ConnectionOptions } from './context';
import { createOpsClient } from './ops-client';

/** The environment-configured sources and the variable that holds each one's secret. */
const ENV_SOURCES = {
  shopify: 'SHOPIFY_WEBHOOK_SECRET',
  easypost: 'EASYPOST_WEBHOOK_SECRET',
  keycloak: 'KEYCLOAK_EVENTS_SECRET',
} as const;

/** What `send`, `trigger` and `listen` sign a source's deliveries with. */
export interface SigningSource {
  provider: ProviderName;
  secret: string;
  /** Where the secret came from, for the hint when the gateway refuses it. */
  secretFrom: string;
  providerOptions: Readonly<Record<string, unknown>>;
}

export interface SigningFlags extends ConnectionOptions {
  provider?: ProviderName;
  secret?: string;
  /** The provider to assume when this shell does not know the source and no ops token can ask the gateway (trigger's sample). */
  fallbackProvider?: ProviderName;
}

/** A source as this shell knows it: declared in GATEWAY_CONFIG, or one of the environment's. */
function localSource(ctx: CliContext, source: string, flags: SigningFlags) {
  const config = flags.provider && flags.secret ? undefined : ctx.config();
  const declared = config?.sources.find((s) => s.name === source);
  const envVariable = ENV_SOURCES[source as keyof typeof ENV_SOURCES] as string | undefined;
  const now = Date.now();
  return {
    known: declared !== undefined || envVariable !== undefined,
    provider: declared?.provider ?? (envVariable ? (source as ProviderName) : undefined),
    options: declared?.options ?? {},
    secret:
      declared?.secrets.find((s) => !s.notAfter || s.notAfter.getTime() > now)?.value ??
      (envVariable ? config?.secrets[source as keyof typeof ENV_SOURCES][0] : undefined),
    secretFrom: declared ? `source "${source}" of GATEWAY_CONFIG` : (envVariable ?? 'the environment'),
    missingSecret: `pass --secret, or set ${envVariable ?? 'it in GATEWAY_CONFIG'}`,
  };
}

/**
 * Provider, secret and options of a source from this shell only: flags, then GATEWAY_CONFIG,
 * then the environment (`listen`, which signs many sources and must not stop for one).
 */
export function resolveSource(ctx: CliContext, source: string, flags: SigningFlags): SigningSource {
  const local = localSource(ctx, source, flags);
  const provider = flags.provider ?? local.provider ?? flags.fallbackProvider;
  if (!provider) throw unknownSource(source);
  return withSecret(source, provider, local.options, flags, local.secret, local.secretFrom, local.missingSecret);
}

/**
 * As resolveSource, and for a source this shell does not know (created at runtime with the ops
 * API or `apply`), its provider and options as the running gateway has them. The gateway never
 * shows a secret, so that one comes from --secret.
 */
export async function resolveSigningSource(
  ctx: CliContext,
  source: string,
  flags: SigningFlags,
): Promise<SigningSource> {
  const local = localSource(ctx, source, flags);
  if (local.known) return resolveSource(ctx, source, flags);
  const flagsSuffice = flags.provider && flags.secret && !SIGNERS[flags.provider].needsOptions;
  const token = flagsSuffice ? undefined : (flags.token ?? ctx.config().opsTokens[0]);
  if (!token) {
    const provider = flags.provider ?? flags.fallbackProvider;
    if (!provider) throw unknownSource(source);
    return withSecret(source, provider, {}, flags, undefined, '--secret', 'pass --secret');
  }
  const remote = await lookUpSource(ctx, source, { ...flags, token });
  const provider = flags.provider ?? (remote.provider as ProviderName);
  const providerOptions = await optionsOf(source, provider, remote);
  const missingSecret =
    remote.managed_by === 'database'
      ? `it is a ${provider} source stored in the gateway's database, which never shows a secret: ` +
        `pass --secret with the one given when it was created or rotated (lost it? webhook-gateway sources rotate-secret ${source} makes a new one)`
      : `it is a ${provider} source of the gateway's own GATEWAY_CONFIG or environment: pass --secret with its secret there, or run this command with that configuration`;
  return withSecret(source, provider, providerOptions, flags, undefined, '--secret', missingSecret);
}

/**
 * The secret to sign with, once provider and options are known. A source that no secret can sign
 * for is refused first, with what to do instead: asking for --secret there would send the user
 * after something that cannot help.
 */
function withSecret(
  source: string,
  provider: ProviderName,
  providerOptions: Readonly<Record<string, unknown>>,
  flags: SigningFlags,
  found: string | undefined,
  foundFrom: string,
  missingSecret: string,
): SigningSource {
  const refused = SIGNERS[provider].cannotSign?.(providerOptions);
  if (refused)
    throw new CannotSignError(
      `Source "${source}" ${refused}. A --secret cannot help: this command signs with shared secrets only`,
    );
  const secret = flags.secret ?? found;
  if (!secret) throw usageError(`No secret for source "${source}": ${missingSecret}`);
  return { provider, secret, secretFrom: flags.secret ? '--secret' : foundFrom, providerOptions };
}

const unknownSource = (source: string) =>
  usageError(
    `Unknown source "${source}": it is not in GATEWAY_CONFIG and not one of ${Object.keys(ENV_SOURCES).join(', ')}. ` +
      'For a source created at runtime (ops API, UI or apply), pass --token <ops token> (or set OPS_API_TOKEN) so its provider is read from the gateway, and --secret; ' +
      `or pass --provider (${SIGNED_PROVIDERS.join(', ')}) and --secret`,
  );

/** GET /api/sources/{name}: the source as the running gateway has it (never a secret). */
async function lookUpSource(
  ctx: CliContext,
  source: string,
  flags: SigningFlags & { token: string },
): Promise<SourceView> {
  const base = gatewayUrl(ctx, flags);
  try {
    return await createOpsClient(base, flags.token, answerTimeout(flags)).get<SourceView>(
      `/api/sources/${encodeURIComponent(source)}`,
    );
  } catch (err) {
    if (err instanceof CliError && err.code === 'source_not_found') {
      throw usageError(
        `Unknown source "${source}": neither GATEWAY_CONFIG here nor the gateway at ${base} has it. Check the name (webhook-gateway sources list)`,
      );
    }
    throw err;
  }
}

/**
 * The provider's options of a source read from the gateway: its `spec` (database sources, shown to
 * admin tokens) holds them among the entry's other keys. Without it a provider whose signature
 * depends on its options cannot be signed for, and the error says which token would read them.
 */
async function optionsOf(
  source: string,
  provider: ProviderName,
  remote: SourceView,
): Promise<Readonly<Record<string, unknown>>> {
  // Loaded here, not at start-up: the provider modules pull in zod and the JWT library.
  const { providerModules } = await import('../../providers');
  const module = providerModules[provider];
  if (!remote.spec) {
    if (!SIGNERS[provider].needsOptions) return {};
    throw usageError(
      remote.managed_by === 'database'
        ? `A ${provider} signature depends on the source's options, which the gateway shows to admin tokens only: pass an admin --token to send to "${source}"`
        : `A ${provider} signature depends on the source's options, which are in the gateway's own GATEWAY_CONFIG: run this command with that GATEWAY_CONFIG to send to "${source}"`,
    );
  }
  const picked = Object.fromEntries(Object.entries(remote.spec).filter(([key]) => key in module.options.shape));
  const parsed = module.options.safeParse(picked);
  if (!parsed.success)
    throw new CliError(
      `The gateway's options of source "${source}" are not ${provider} options: ${parsed.error.message}`,
    );
  return parsed.data as Record<string, unknown>;
}

/**
 * Names of the running gateway's sources of one provider (GET /api/sources), or none when there
 * is no ops token or the gateway cannot say: only ever used to improve an error message.
 */
export async function gatewaySourcesOf(
  ctx: CliContext,
  provider: ProviderName,
  flags: ConnectionOptions,
): Promise<string[]> {
  const token = flags.token ?? ctx.config().opsTokens[0];
  if (!token) return [];
  try {
    const client = createOpsClient(gatewayUrl(ctx, flags), token, answerTimeout(flags));
    const { sources } = await client.get<{ sources: SourceView[] }>('/api/sources');
    return sources.filter((s) => s.provider === provider).map((s) => s.name);
  } catch {
    return [];
  }
}

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import type { ProviderName } from '../../providers';
import { SAMPLES_DIR } from '../resources';
import { answerTimeout, usageError, type CliContext } from './context';
import { SAMPLES, withFreshIds } from '../senders/samples';
import { signAndPost } from './send';
import { gatewaySourcesOf, resolveSigningSource } from './signing-source';
import { CannotSignError, SIGNERS } from '../senders/signers';
import { formatTable } from './table';

interface TriggerOptions {
  list?: boolean;
  source?: string;
  url?: string;
  secret?: string;
  token?: string;
  answerTimeoutMs?: string;
}

/** `trigger <provider> <event>`: a realistic sample event, signed as the provider signs it, posted to the gateway. */
export function triggerCommand(ctx: CliContext): Command {
  return new Command('trigger')
    .description(
      "send a provider's sample event (e.g. stripe payment_intent.succeeded), correctly signed, to a running gateway",
    )
    .argument('[provider]', 'shopify, easypost, stripe, github or keycloak (see --list)')
    .argument('[event]', 'the event, as the provider names it (see --list)')
    .option('--list', 'list the samples')
    .option('--source <name>', 'the source to send to (default: the source named like the provider)')
    .option('--secret <secret>', "signing secret (default: the source's, from GATEWAY_CONFIG or the environment)")
    .option('--url <url>', 'address of the running gateway (default: http://localhost:$PORT, i.e. :3000)')
    .option(
      '--token <token>',
      'ops API token, to read the provider of a source created at runtime (default: the first of $OPS_API_TOKEN)',
    )
    .option('--answer-timeout-ms <ms>', "how long to wait for the gateway's answer (default: 60000)")
    .action(async (providerName: string | undefined, event: string | undefined, options: TriggerOptions) => {
      const timeoutMs = answerTimeout(options);
      if (options.list || !providerName) {
        ctx.out(
          formatTable(
            ['PROVIDER', 'EVENT', 'SAMPLE'],
            SAMPLES.map((s) => [s.provider, s.event, `providers/samples/${s.file}`]),
          ),
        );
        return;
      }
      const sample = SAMPLES.find((s) => s.provider === providerName && s.event === event);
      if (!sample) {
        const events = SAMPLES.filter((s) => s.provider === providerName).map((s) => s.event);
        throw usageError(
          events.length
            ? `No ${providerName} sample "${event ?? ''}": choose one of ${events.join(', ')}`
            : `No samples for "${providerName}": run trigger --list`,
        );
      }
      const source = options.source ?? sample.provider;
      const resolved = await resolveSampleSource(ctx, source, sample.provider, options);
      if (resolved.provider !== sample.provider) {
        throw usageError(
          `Source "${source}" verifies ${resolved.provider} deliveries, not ${sample.provider}: pass --source naming a ${sample.provider} source`,
        );
      }
      const signer = SIGNERS[sample.provider];
      const body = withFreshIds(await readFile(join(SAMPLES_DIR, sample.file)), signer.idFrom !== undefined);
      await signAndPost(ctx, {
        source,
        provider: sample.provider,
        secret: resolved.secret,
        secretFrom: resolved.secretFrom,
        providerOptions: resolved.providerOptions,
        body,
        id: randomUUID(),
        topic: signer.topicFrom ? undefined : sample.event,
        shop: 'dev-shop.myshopify.com',
        url: options.url,
        timeoutMs,
      });
    });
}

/**
 * Provider, secret and options of the source a sample goes to. Without --source that is the source
 * named like the provider; when it has no secret here but GATEWAY_CONFIG has a source of that
 * provider under another name (the docs' Stripe source is `billing`), the error names it: asking
 * for a secret instead would only lead to a 404 from a gateway that has no such source. So does
 * the running gateway's list of sources, for one created at runtime.
 */
async function resolveSampleSource(ctx: CliContext, source: string, provider: ProviderName, options: TriggerOptions) {
  try {
    return await resolveSigningSource(ctx, source, {
      fallbackProvider: options.source ? undefined : provider,
      secret: options.secret,
      url: options.url,
      token: options.token,
      answerTimeoutMs: options.answerTimeoutMs,
    });
  } catch (err) {
    if (options.source || options.secret || err instanceof CannotSignError) throw err;
    const others = ctx
      .config()
      .sources.filter((s) => s.provider === provider && s.name !== source)
      .map((s) => s.name);
    if (others.length === 0) {
      const onGateway = await gatewaySourcesOf(ctx, provider, options);
      if (onGateway.length === 0) throw err;
      throw usageError(
        `No source named "${source}", but the gateway's ${provider} source${onGateway.length > 1 ? 's are' : ' is'} ` +
          `${onGateway.map((name) => `"${name}"`).join(', ')}: pass --source ${onGateway[0]} and --secret with its secret`,
      );
    }
    throw usageError(
      `No secret for a source named "${source}", but GATEWAY_CONFIG's ${provider} source${others.length > 1 ? 's are' : ' is'} ` +
        `${others.map((name) => `"${name}"`).join(', ')}: pass --source ${others[0]}`,
    );
  }
}

import { Command, Option } from 'commander';
import type { ProviderName } from '../../providers';
import { createReadStream, statSync } from 'node:fs';
import { FileTooLargeError, NotARegularFileError, readFileLimited } from '../config/read-text-file';
import { readJsonLimited } from '../http/bounded-body';
import { answerTimeout, CliError, gatewayUrl, terminalSafe, usageError, type CliContext } from './context';
import { ANSWER_TIMEOUT_MS, httpError, unreachable } from './ops-client';
import { SIGNED_PROVIDERS, SIGNERS, deliveryIdFor } from '../senders/signers';
import { resolveSigningSource } from './signing-source';

interface SendOptions {
  file: string;
  provider?: ProviderName;
  secret?: string;
  topic?: string;
  id?: string;
  shop?: string;
  url?: string;
  token?: string;
  answerTimeoutMs?: string;
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/**
 * Most bytes of a payload file `send` reads: what the CLI reads back from the gateway at most (an
 * answer, docs/security.md), and far over ingest's MAX_BODY_BYTES (1 MiB by default); the gateway
 * answers 413 to a body over its own limit. The gateway's setting is not read here: `send` talks to
 * any gateway, often without its configuration.
 */
export const MAX_SEND_FILE_BYTES = 256 * 1024 * 1024;

/** Most bytes of ingest's answer read (`{"status":"accepted","id":12}` and the like). */
const INGEST_ANSWER_BYTES = 64 * 1024;

/** `send <source> --file payload.json`: a request signed as the provider signs it, posted to the gateway. */
export function sendCommand(ctx: CliContext): Command {
  return new Command('send')
    .description("sign a payload file exactly as the source's provider does and POST it to a running gateway")
    .argument(
      '<source>',
      'source name: shopify, easypost, keycloak, a source from GATEWAY_CONFIG, or one created at runtime',
    )
    .requiredOption('-f, --file <path>', 'the payload to send, byte for byte (e.g. payload.json)')
    .addOption(
      new Option('--provider <provider>', "signing scheme (default: the source's provider)").choices(SIGNED_PROVIDERS),
    )
    .option(
      '--secret <secret>',
      "signing secret (default: the source's first secret from the environment or GATEWAY_CONFIG; the gateway never shows a runtime source's)",
    )
    .option('--topic <topic>', 'topic header for providers that send one (Shopify: orders/create, GitHub: ping)')
    .option('--id <id>', 'delivery id header (default: derived from the file, so a resend is a duplicate)')
    .option('--shop <domain>', 'Shopify shop domain', 'dev-shop.myshopify.com')
    .option('--url <url>', 'address of the running gateway (default: http://localhost:$PORT, i.e. :3000)')
    .option(
      '--token <token>',
      'ops API token, to read the provider of a source created at runtime (default: the first of $OPS_API_TOKEN)',
    )
    .option('--answer-timeout-ms <ms>', "how long to wait for the gateway's answer (default: 60000)")
    .action(async (source: string, options: SendOptions) => {
      const timeoutMs = answerTimeout(options);
      if (!SOURCE_NAME.test(source)) throw usageError(`"${source}" is not a source name (a-z, 0-9, "-" and "_")`);
      const { provider, secret, secretFrom, providerOptions } = await resolveSigningSource(ctx, source, options);
      const signer = SIGNERS[provider];
      const topicFrom = signer.topicFrom?.(providerOptions);
      if (options.topic !== undefined && topicFrom)
        throw usageError(`--topic does not apply to ${provider}: the topic is ${topicFrom}`);
      const idFrom = signer.idFrom?.(providerOptions);
      if (options.id !== undefined && idFrom)
        throw usageError(`--id does not apply to ${provider}: the id is ${idFrom}`);

      const body = await readPayloadFile(options.file);
      await signAndPost(ctx, {
        source,
        provider,
        secret,
        secretFrom,
        providerOptions,
        body,
        id: options.id ?? deliveryIdFor(body, provider),
        topic: options.topic,
        shop: options.shop,
        url: options.url,
        timeoutMs,
      });
    });
}

/**
 * The payload file's bytes; a usage error naming the file when it cannot be sent as it is. A pipe
 * (`--file <(jq … )`, `--file /dev/stdin`) is read as a stream up to the same limit, so /dev/zero
 * ends with "larger than" instead of filling memory; directories, sockets and block devices are refused.
 */
async function readPayloadFile(path: string): Promise<Buffer> {
  try {
    // Decided before opening: readFileLimited opens without blocking and closes a FIFO at once,
    // and a writer that came in that moment would lose what it wrote with that close.
    const stats = statSync(path);
    if (stats.isFIFO() || stats.isCharacterDevice()) return await readStreamLimited(path, MAX_SEND_FILE_BYTES);
    return readFileLimited(path, MAX_SEND_FILE_BYTES);
  } catch (err) {
    if (err instanceof FileTooLargeError)
      throw usageError(`${path} is ${err.message} (256 MiB), more than a webhook body: check the path`);
    if (err instanceof NotARegularFileError)
      throw usageError(`${path} is ${err.message}: save the payload to a file and pass that file`);
    throw usageError(`Cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Reads a pipe or character device to its end, refusing it past `maxBytes`. */
async function readStreamLimited(path: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw new FileTooLargeError(maxBytes);
      chunks.push(chunk);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}

/** One delivery to sign and post, as `send` and `trigger` make it. */
export interface SignedPost {
  source: string;
  provider: ProviderName;
  secret: string;
  /** Where the secret came from, for the hint when the gateway refuses it. */
  secretFrom: string;
  providerOptions: Readonly<Record<string, unknown>>;
  body: Buffer;
  id: string;
  topic?: string;
  shop?: string;
  url?: string;
  /** How long to wait for the gateway's answer (default ANSWER_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** Signs the body as the provider does, POSTs it to the gateway's source path, and prints the outcome. */
export async function signAndPost(ctx: CliContext, d: SignedPost): Promise<void> {
  const base = gatewayUrl(ctx, { url: d.url });
  const path = `/api/webhooks/${d.source}`;
  const signed = SIGNERS[d.provider].sign({
    secret: d.secret,
    body: d.body,
    path,
    id: d.id,
    topic: d.topic,
    account: d.shop,
    now: new Date(),
    options: d.providerOptions,
  });
  const target = `${base}${path}${signed.query ? `?${signed.query}` : ''}`;
  const timeoutMs = d.timeoutMs ?? ANSWER_TIMEOUT_MS;
  // The whole answer, body included, within the time limit (the signal stays armed while reading).
  const signal = AbortSignal.timeout(timeoutMs);
  const noAnswer = () =>
    new CliError(
      `The gateway at ${base} did not answer POST ${path} within ${timeoutMs} ms. Is it overloaded, or is --url another server? --answer-timeout-ms waits longer.`,
    );
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      body: d.body,
      signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': `webhook-gateway-send (${d.provider})`,
        ...signed.headers,
      },
    });
  } catch (err) {
    if (signal.aborted) throw noAnswer();
    throw unreachable(base, err);
  }
  if (!response.ok) {
    const error = await httpError(response, (status, code) => rejectionHint(status, code, d.source, d.secretFrom));
    throw new CliError(`Rejected: ${error.message.replace(/^The gateway answered /, '')}`);
  }
  // Ingest answers a few dozen bytes of JSON; anything else is not the gateway.
  const answer = (await readJsonLimited(response, INGEST_ANSWER_BYTES, `the answer to POST ${path}`).catch(
    (err: unknown) => {
      if (signal.aborted) throw noAnswer();
      throw new CliError(`${err instanceof Error ? err.message : String(err)}: is --url the gateway's address?`);
    },
  )) as { status: string; id?: number; event_id?: number };
  if (answer.status === 'accepted') {
    ctx.out(`accepted: stored as event ${answer.id} (${d.provider} → POST ${path})`);
    ctx.err(`See it: webhook-gateway events show ${answer.id}`);
  } else if (answer.status === 'conflict') {
    const event = Number(answer.event_id);
    ctx.out(`conflict: event ${event} has this delivery id with other bytes; this body is kept as a conflict of it`);
    ctx.err(`See them: webhook-gateway events conflicts --event ${event} (pass --id to send a new delivery)`);
  } else {
    ctx.out(
      `${terminalSafe(answer.status)}: this delivery was stored before; nothing new stored (pass --id to send a new delivery)`,
    );
  }
}

/**
 * What to do about a refused delivery. A 401 here is about the signing secret (not the ops token):
 * this command signed with one secret and the running gateway holds another for the source.
 */
function rejectionHint(status: number, code: string, source: string, secretFrom: string): string | undefined {
  if (code === 'source_not_configured') {
    return `The running gateway has no secret for "${source}": set it where the gateway runs (the same ${secretFrom === '--secret' ? 'variable or GATEWAY_CONFIG entry' : secretFrom}) and restart it.`;
  }
  if (status === 401) {
    return (
      `This command signed with the secret from ${secretFrom}; the running gateway verifies "${source}" with its own. ` +
      'Run send with the same environment (or GATEWAY_CONFIG) as the gateway, or pass --secret with the secret the gateway has.'
    );
  }
  if (status === 404) return `The gateway has no source "${source}": check the name, or the gateway's GATEWAY_CONFIG.`;
  return undefined;
}

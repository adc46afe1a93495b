import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import {
  answerTimeout,
  CliError,
  gatewayUrl,
  opsToken,
  terminalSafe,
  usageError,
  type CliContext,
  type ConnectionOptions,
} from './context';
import { withConnection } from './events';
import { forwardedRequest, type StreamedArrival } from './forward';
import { requireKnownSource } from './known-source';
import { createOpsClient } from './ops-client';
import { listenEnvelope } from './listen-envelope';
import { listenSigning, type ListenSigning } from './listen-signing';
import type { EnvelopeOptions } from '../deliver/envelope';
import { readSse, skippedMessage } from './sse';

interface ListenOptions extends ConnectionOptions {
  forwardTo: string;
  source?: string;
  envelope?: boolean;
  secret?: string;
  forwardTimeoutMs: string;
}

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;
/** How long one forward waits for the local app's answer by default. */
const FORWARD_TIMEOUT_MS = 30_000;
/** Longest --forward-timeout-ms: an hour is room for a breakpoint; nothing waits forever. */
const MAX_FORWARD_TIMEOUT_MS = 3_600_000;
/** Ids already forwarded, so an arrival resent on resume is not forwarded twice (bounded). */
const REMEMBERED = 10_000;

/**
 * `listen --forward-to <url>`: follows the gateway's live stream and forwards each new event to a
 * local server, one line per delivery. Reconnects with backoff and resumes after the last arrival
 * it saw (Last-Event-ID), so events received while it was away are forwarded too.
 */
export function listenCommand(ctx: CliContext): Command {
  return withConnection(
    new Command('listen')
      .description("forward each new event from a running gateway to a local server (stripe listen's loop)")
      .requiredOption('--forward-to <url>', 'local address to POST each event to, e.g. http://localhost:4000/webhooks')
      .option('--source <name>', 'only this source (one the gateway has: checked before streaming)')
      .option(
        '--envelope',
        "send the gateway's signed envelope (what destinations get) instead of the original request",
      )
      .option(
        '--secret <secret>',
        "secret to sign with: the provider's (default: the source's, from GATEWAY_CONFIG or the environment; a source created at runtime needs it), or with --envelope a whsec_ key",
      )
      .option(
        '--forward-timeout-ms <ms>',
        `how long each forward waits for the local server's answer before it counts as failed (at most ${MAX_FORWARD_TIMEOUT_MS})`,
        String(FORWARD_TIMEOUT_MS),
      ),
  ).action(async (options: ListenOptions) => {
    let target: URL;
    try {
      target = new URL(options.forwardTo);
    } catch {
      throw usageError(`--forward-to "${options.forwardTo}" is not a URL (e.g. http://localhost:4000/webhooks)`);
    }
    // `localhost:4000` parses as a URL whose scheme is `localhost:`: name the value, as --url does.
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw usageError(
        `--forward-to must be an http(s) URL such as http://localhost:4000/webhooks, not "${options.forwardTo}"`,
      );
    const timeoutMs = Number(options.forwardTimeoutMs);
    if (!/^\d+$/.test(options.forwardTimeoutMs) || timeoutMs < 1 || timeoutMs > MAX_FORWARD_TIMEOUT_MS)
      throw usageError(
        `--forward-timeout-ms must be a whole number of milliseconds from 1 to ${MAX_FORWARD_TIMEOUT_MS}`,
      );
    const base = gatewayUrl(ctx, options);
    const token = opsToken(ctx, options);
    const client = createOpsClient(base, token, answerTimeout(options));
    const params = new URLSearchParams({ include: 'request' });
    if (options.source) {
      await requireKnownSource(client, base, options.source);
      params.set('source', options.source);
    }
    const stopped = new AbortController();
    const stop = () => stopped.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const forwarded = new Set<number>();
    const signing = listenSigning(ctx, { ...options, token });
    const envelopeOf = options.envelope ? listenEnvelope(ctx, client) : undefined;
    let lastArrival: string | undefined;
    let retryMs = FIRST_RETRY_MS;
    // Until the first `ready`, a failure means a wrong --url or token, not a dropped stream.
    let connected = false;
    try {
      while (!stopped.signal.aborted) {
        try {
          const headers: Record<string, string> = lastArrival ? { 'last-event-id': lastArrival } : {};
          const response = await client.stream(`/api/events/stream?${params}`, stopped.signal, headers);
          if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
            await response.body?.cancel();
            throw new CliError(
              `${base} answered ${response.status} but not with a live stream: is --url the gateway's address?`,
            );
          }
          for await (const message of readSse(response.body!)) {
            if (message.oversize) {
              if (message.id) lastArrival = message.id;
              ctx.err(skippedMessage(message.id));
              continue;
            }
            if (message.event === 'ready') {
              retryMs = FIRST_RETRY_MS;
              connected = true;
              ctx.err(`Forwarding events from ${base} to ${target.href} (Ctrl-C to stop)`);
              continue;
            }
            if (message.event === 'resume_truncated') ctx.err(terminalSafe(JSON.parse(message.data).message));
            const data = JSON.parse(message.data) as StreamedArrival & { arrival?: boolean };
            if (!data.arrival) continue;
            if (message.id) lastArrival = message.id;
            if (forwarded.has(data.id)) continue;
            forwarded.add(data.id);
            if (forwarded.size > REMEMBERED) forwarded.delete(forwarded.values().next().value!);
            const how = { ...(await signing(data.source)), envelope: await envelopeOf?.(data.source) };
            ctx.out(await forwardOne(data, target, how, stopped.signal, timeoutMs));
          }
        } catch (err) {
          if (stopped.signal.aborted) break;
          // A refused token or a missing route will not fix itself, nor a gateway never reached
          // (a wrong --url): stop with the reason instead of retrying.
          if (err instanceof CliError && (!connected || /\b(401|403|404)\b/.test(err.message))) throw err;
        }
        if (stopped.signal.aborted) break;
        ctx.err(`Lost the stream from ${base}; reconnecting in ${(retryMs / 1000).toFixed(1)} s`);
        // Ctrl-C ends the wait too: it is up to 10 s, and "stops at once" holds here as well.
        await sleep(retryMs, undefined, { signal: stopped.signal }).catch(() => undefined);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });
}

async function forwardOne(
  arrival: StreamedArrival,
  target: URL,
  signing: ListenSigning & { envelope?: EnvelopeOptions },
  stopped: AbortSignal,
  timeoutMs: number,
): Promise<string> {
  const time = new Date().toTimeString().slice(0, 8);
  const what = `#${arrival.id}  ${arrival.source}  ${arrival.topic}`;
  if (!arrival.request) return terminalSafe(`${time}  ${what}  skipped: ${arrival.request_withheld ?? 'no request'}`);
  let request;
  try {
    request = forwardedRequest(arrival as Parameters<typeof forwardedRequest>[0], {
      envelope: signing.envelope,
      secret: signing.secret,
      path: target.pathname,
      provider: signing.provider,
      providerOptions: signing.providerOptions,
    });
  } catch (err) {
    return terminalSafe(`${time}  ${what}  skipped: ${(err as Error).message}`);
  }
  const started = performance.now();
  try {
    // Ctrl-C aborts a forward the local app has not answered: it may never answer (a breakpoint).
    // So does the timeout: while one forward waits, the stream is not read, and the gateway cuts a
    // stream client that reads nothing.
    const signal = AbortSignal.any([stopped, AbortSignal.timeout(timeoutMs)]);
    const response = await fetch(target, {
      method: 'POST',
      body: request.body,
      headers: request.headers,
      redirect: 'manual',
      signal,
    });
    await response.body?.cancel();
    const ms = Math.round(performance.now() - started);
    return terminalSafe(
      `${time}  ${what}  → ${response.status} ${response.statusText}  ${ms} ms  (${request.signedAs})`,
    );
  } catch (err) {
    if (stopped.aborted)
      return terminalSafe(`${time}  ${what}  → interrupted (Ctrl-C) before the local server answered`);
    if ((err as Error).name === 'TimeoutError')
      return terminalSafe(
        `${time}  ${what}  → failed: no answer within ${timeoutMs} ms (is the local server at ${target.href} stuck? --forward-timeout-ms sets the limit)`,
      );
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    // undici's code for a socket closed before the answer: the app is up, so say what it did.
    if (cause === 'UND_ERR_SOCKET')
      return terminalSafe(
        `${time}  ${what}  → failed: the local server closed the connection without answering (did it crash on this event?)`,
      );
    return terminalSafe(`${time}  ${what}  → failed: ${cause} (is the local server running at ${target.href}?)`);
  }
}

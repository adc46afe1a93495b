import { Command, Option } from 'commander';
import {
  answerTimeout,
  CliError,
  gatewayUrl,
  opsToken,
  terminalJsonText,
  terminalSafe,
  type CliContext,
  type ConnectionOptions,
} from './context';
import { withConnection } from './events';
import { requireKnownSource } from './known-source';
import { createOpsClient } from './ops-client';
import { readSse, skippedMessage } from './sse';

interface TailOptions extends ConnectionOptions {
  source?: string;
  status?: string;
  topic?: string;
  json?: boolean;
}

interface StreamedEvent {
  id: number;
  source: string;
  topic: string;
  status: string;
  attempts: number;
  due: boolean;
}

/** `tail`: the live stream (GET /api/events/stream), one line per event, until Ctrl-C. */
export function tailCommand(ctx: CliContext): Command {
  return withConnection(
    new Command('tail')
      .description('print events as they are received and finished, until Ctrl-C')
      .option('--source <name>', 'only this source (one the gateway has: checked before streaming)')
      .addOption(new Option('--status <status>', 'only this status').choices(['received', 'completed', 'failed']))
      .option('--topic <topic>', 'only this topic')
      .option('--json', 'one JSON object per line instead of text'),
  ).action(async (options: TailOptions) => {
    const base = gatewayUrl(ctx, options);
    const client = createOpsClient(base, opsToken(ctx, options), answerTimeout(options));
    if (options.source) await requireKnownSource(client, base, options.source);
    const params = new URLSearchParams();
    for (const key of ['source', 'status', 'topic'] as const) if (options[key]) params.set(key, options[key]);
    const stopped = new AbortController();
    const stop = () => stopped.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const response = await client.stream(`/api/events/stream${params.size ? `?${params}` : ''}`, stopped.signal);
      for await (const message of readSse(response.body!)) {
        if (message.oversize) {
          ctx.err(skippedMessage(message.id));
          continue;
        }
        if (message.event === 'ready') {
          ctx.err(`Listening for events at ${base} (Ctrl-C to stop)`);
          continue;
        }
        // --json prints the gateway's own text, so what jq reads is exactly what was sent.
        ctx.out(options.json ? terminalJsonText(message.data, 0) : line(JSON.parse(message.data) as StreamedEvent));
      }
    } catch (err) {
      if (stopped.signal.aborted) return;
      throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    if (!stopped.signal.aborted) throw new CliError(`The gateway at ${base} closed the stream (did it stop?)`);
  });
}

/** `10:15:02  completed  #12  shopify  orders/create  attempts=1` (local time). */
function line(event: StreamedEvent): string {
  const time = new Date().toTimeString().slice(0, 8);
  const retry =
    event.status === 'received' && event.attempts > 0 ? (event.due ? '  retry due' : '  retry scheduled') : '';
  return terminalSafe(
    `${time}  ${event.status.padEnd(9)}  #${event.id}  ${event.source}  ${event.topic}  attempts=${event.attempts}${retry}`,
  );
}

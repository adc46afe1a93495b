import { Command } from 'commander';
import type { z } from 'zod';
import type { BulkReplayResult, EventPage, EventSummary, NotSearched } from '../ops/schemas';
import {
  answerTimeout,
  gatewayUrl,
  opsToken,
  terminalJson,
  terminalJsonText,
  usageError,
  type CliContext,
  type ConnectionOptions,
} from './context';
import { addConflictsCommand } from './conflicts';
import { createOpsClient } from './ops-client';
import { formatTable, shortTime } from './table';
import { parseTimeOption, TIME_FORMATS } from './time-option';

interface FilterOptions {
  source?: string;
  status?: string;
  topic?: string;
  webhookId?: string;
  since?: string;
  until?: string;
  query?: string;
}

/** --url and --token, on every command that talks to a running gateway. */
export function withConnection(command: Command): Command {
  return command
    .option('--url <url>', 'address of the running gateway (default: http://localhost:$PORT, i.e. :3000)')
    .option('--token <token>', 'ops API token (default: the first of $OPS_API_TOKEN)')
    .option('--answer-timeout-ms <ms>', "how long to wait for the gateway's answer (default: 60000)");
}

/** The ops API's event filters as options. */
function withFilters(command: Command): Command {
  return (
    command
      .option('--source <name>', 'only this source (shopify, stripe, …)')
      // Checked by the gateway, which names the allowed values when one is wrong.
      .option('--status <status>', 'only events in this status: received, processing, completed or failed')
      .option('--topic <topic>', 'only this topic (orders/create, …)')
      .option('--webhook-id <id>', "the provider's webhook id")
      .option('--since <time>', `received at or after this time: ${TIME_FORMATS}`)
      .option('--until <time>', 'received before this time (same forms as --since)')
      .option('-q, --query <text>', 'the payload contains this text (exact, case-sensitive)')
  );
}

/** The options as the ops API's filter fields (unset ones left out). */
function filterOf(options: FilterOptions): Record<string, string> {
  const filter: Record<string, string | undefined> = {
    source: options.source,
    status: options.status,
    topic: options.topic,
    webhook_id: options.webhookId,
    since: options.since === undefined ? undefined : parseTimeOption('--since', options.since),
    until: options.until === undefined ? undefined : parseTimeOption('--until', options.until),
    q: options.query,
  };
  return Object.fromEntries(
    Object.entries(filter).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

const eventId = (text: string) => {
  if (!/^[1-9]\d{0,15}$/.test(text)) throw usageError(`"${text}" is not an event id (a positive whole number)`);
  return text;
};

/** `events list|show|replay`: find, inspect and replay events through the ops API. */
export function eventsCommand(ctx: CliContext): Command {
  const events = new Command('events').description(
    'list, show and replay stored events, list conflicts (through the ops API)',
  );
  const clientFor = (options: ConnectionOptions) =>
    createOpsClient(gatewayUrl(ctx, options), opsToken(ctx, options), answerTimeout(options));

  withConnection(withFilters(events.command('list').description('newest events first, as a table')))
    .option('--limit <n>', 'events per page, 1-500', '50')
    .option('--cursor <cursor>', 'the next page: the cursor printed under the previous one')
    .option('--json', 'print the page as JSON instead of a table')
    .action(async (options: FilterOptions & ConnectionOptions & { limit: string; cursor?: string; json?: boolean }) => {
      const params = new URLSearchParams({ ...filterOf(options), limit: options.limit });
      if (options.cursor) params.set('cursor', options.cursor);
      const page = await clientFor(options).get<z.infer<typeof EventPage>>(`/api/events?${params}`);
      if (options.json) ctx.out(terminalJson(page));
      else if (page.events.length === 0) ctx.err('No events match.');
      else
        ctx.out(
          formatTable(
            ['ID', 'RECEIVED (UTC)', 'SOURCE', 'TOPIC', 'STATUS', 'ATTEMPTS', 'LAST ERROR'],
            page.events.map(row),
          ),
        );
      if (page.not_searched) ctx.err(notSearchedNote(page.not_searched));
      if (page.next_cursor) ctx.err(`More events: run the same command with --cursor ${page.next_cursor}`);
    });

  withConnection(events.command('show').description('one event as JSON: payload, headers, attempts, deliveries'))
    .argument('<id>', 'event id')
    .action(async (id: string, options: ConnectionOptions) => {
      // Printed from the response text: a parse would round the payload's numbers beyond 2^53.
      ctx.out(terminalJsonText(await clientFor(options).getText(`/api/events/${eventId(id)}`)));
    });

  withConnection(
    withFilters(events.command('replay').description('make one event, or every event matching filters, due again')),
  )
    .argument('[id]', 'the event to replay; leave out to replay every event matching the filters')
    .option('--yes', 'bulk replay: really replay (without it, only count the matching events)')
    .action(async (id: string | undefined, options: FilterOptions & ConnectionOptions & { yes?: boolean }) => {
      const filter = filterOf(options);
      if (id !== undefined) {
        if (Object.keys(filter).length > 0) throw usageError('Give an event id or filters, not both');
        const event = await clientFor(options).post<z.infer<typeof EventSummary>>(`/api/events/${eventId(id)}/replay`);
        ctx.out(`Replayed event ${event.id} (${event.source} ${event.topic}): ${event.status}, due now.`);
        return;
      }
      if (Object.keys(filter).length === 0) {
        throw usageError('Give an event id, or filters (e.g. --status failed) to replay every matching event');
      }
      const client = clientFor(options);
      type Result = z.infer<typeof BulkReplayResult>;
      const counted = await client.post<Result>('/api/events/replay', { filter, dry_run: true });
      if (counted.not_searched) ctx.err(notSearchedNote(counted.not_searched));
      const matching = `${counted.matched} event${counted.matched === 1 ? '' : 's'} match${counted.matched === 1 ? 'es' : ''}`;
      if (counted.matched === 0) {
        ctx.out('No events match: nothing to replay.');
      } else if (!options.yes) {
        ctx.out(`${matching}. Nothing replayed: add --yes to replay them.`);
      } else {
        const done = await client.post<Result>('/api/events/replay', { filter, dry_run: false });
        ctx.out(`Replayed ${done.replayed} of ${done.matched} matching events: they are due now.`);
      }
    });

  addConflictsCommand(events, ctx, clientFor, withConnection);
  return events;
}

/** The line saying which sources a filter left out, so "no match" is not read as "never received". */
function notSearchedNote({ sources }: z.infer<typeof NotSearched>): string {
  return `Not searched: ${sources.join(', ')} (${sources.length === 1 ? 'it reads' : 'they read'} the filtered topic or webhook id from a masked payload path; an admin token searches ${sources.length === 1 ? 'it' : 'them'})`;
}

function row(event: z.infer<typeof EventSummary>): string[] {
  return [
    String(event.id),
    shortTime(event.received_at),
    event.source,
    event.topic,
    event.status,
    `${event.attempts}/${event.max_attempts}`,
    event.last_error?.replace(/\s+/g, ' ') ?? '',
  ];
}

import type { Command } from 'commander';
import type { z } from 'zod';
import type { ConflictPage } from '../ops/schemas';
import { terminalJson, usageError, type CliContext, type ConnectionOptions } from './context';
import type { createOpsClient } from './ops-client';
import { formatTable, shortTime } from './table';
import { parseTimeOption, TIME_FORMATS } from './time-option';

interface ConflictOptions extends ConnectionOptions {
  source?: string;
  event?: string;
  since?: string;
  limit: string;
  cursor?: string;
  json?: boolean;
}

/**
 * `events conflicts`: deliveries that repeated a stored event's id with other bytes
 * (GET /api/conflicts), newest first. Their bytes are read with the ops API (GET /api/conflicts/:id).
 */
export function addConflictsCommand(
  events: Command,
  ctx: CliContext,
  clientFor: (options: ConnectionOptions) => ReturnType<typeof createOpsClient>,
  withConnection: (command: Command) => Command,
): void {
  withConnection(events.command('conflicts').description('deliveries that repeated an event id with other bytes'))
    .option('--source <name>', 'only this source')
    .option('--event <id>', 'only conflicts of this event')
    .option('--since <time>', `received at or after this time: ${TIME_FORMATS}`)
    .option('--limit <n>', 'conflicts per page, 1-500', '50')
    .option('--cursor <cursor>', 'the next page: the cursor printed under the previous one')
    .option('--json', 'print the page as JSON instead of a table')
    .action(async (options: ConflictOptions) => {
      if (options.event !== undefined && !/^[1-9]\d{0,15}$/.test(options.event)) {
        throw usageError(`--event "${options.event}" is not an event id (a positive whole number)`);
      }
      const params = new URLSearchParams({ limit: options.limit });
      if (options.source) params.set('source', options.source);
      if (options.event) params.set('event_id', options.event);
      if (options.since) params.set('since', parseTimeOption('--since', options.since));
      if (options.cursor) params.set('cursor', options.cursor);
      const page = await clientFor(options).get<z.infer<typeof ConflictPage>>(`/api/conflicts?${params}`);
      if (options.json) ctx.out(terminalJson(page));
      else if (page.conflicts.length === 0) ctx.err('No conflicts match.');
      else
        ctx.out(
          formatTable(
            ['ID', 'RECEIVED (UTC)', 'SOURCE', 'EVENT', 'WEBHOOK ID', 'BYTES', 'SHA-256'],
            page.conflicts.map((c) => [
              String(c.id),
              shortTime(c.received_at),
              c.source,
              String(c.event_id),
              c.webhook_id,
              String(c.size_bytes),
              c.content_sha256.slice(0, 16),
            ]),
          ),
        );
      if (page.next_cursor) ctx.err(`More conflicts: run the same command with --cursor ${page.next_cursor}`);
    });
}

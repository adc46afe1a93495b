import { Command } from 'commander';
import type { DestinationView } from '../control/destination-view';
import { terminalJson, usageError, type CliContext, type ConnectionOptions } from './context';
import { withConnection } from './events';
import { ifMatchHeader, withIfMatch, type IfMatchOptions } from './if-match';
import { addPauseCommands, opsClientFor } from './pause-commands';
import { parseExact } from '../json/exact-values';
import { formatTable } from './table';

type WithSecret = DestinationView & { secret?: string };

const client = opsClientFor;
const path = (name: string) => `/api/destinations/${encodeURIComponent(name)}`;

/** One line per destination: where it is, its sources, state and health. */
function destinationTable(list: DestinationView[]): string {
  return formatTable(
    ['NAME', 'URL', 'MANAGED BY', 'SOURCES', 'STATE', 'CIRCUIT', 'DELIVERED 24H', 'FAILED 24H', 'HELD', 'FINGERPRINT'],
    list.map((d) => [
      d.name,
      d.url,
      d.managed_by === 'database' ? `database (${d.origin})` : 'file',
      d.sources.join(', ') || '-',
      d.problem ? 'unusable' : d.paused ? (d.paused_reason ? `paused (${d.paused_reason})` : 'paused') : 'active',
      d.circuit_state.state.replace('_', '-'),
      String(d.health.delivered),
      String(d.health.failed),
      String(d.health.held),
      d.fingerprint,
    ]),
  );
}

/** Prints the signing secret the gateway generated: this is the only time anyone sees it. */
function showOnce(ctx: CliContext, answer: WithSecret): void {
  if (!answer.secret) return;
  ctx.out(`secret: ${answer.secret}`);
  ctx.out(
    '(shown once: give it to the receiver to verify signatures; the gateway keeps it encrypted and never shows it again)',
  );
}

/** `KEY: value` options as a headers object. */
function parseHeaders(items: string[] = []): Record<string, string> {
  return Object.fromEntries(
    items.map((item) => {
      const at = item.indexOf(':');
      if (at <= 0) throw usageError(`--header ${item.split(':')[0]}: write name:value`);
      return [item.slice(0, at).trim(), item.slice(at + 1).trim()];
    }),
  );
}

/** `destinations list|get|create|rotate-secret|pause|resume|delete` through the ops API. */
export function destinationsCommand(ctx: CliContext): Command {
  const destinations = new Command('destinations').description(
    'HTTP destinations: list them with their health, and manage those stored in the database',
  );
  withConnection(destinations.command('list').description('every destination, file ones included'))
    .option('--json', 'print JSON')
    .action(async (options: ConnectionOptions & { json?: boolean }) => {
      // Read exactly: a filter's 820982911946154508 is printed with its digits (terminalJson writes them).
      const { destinations: list } = parseExact(await client(ctx, options).getText('/api/destinations')) as {
        destinations: DestinationView[];
      };
      ctx.out(options.json ? terminalJson(list) : destinationTable(list));
    });
  withConnection(
    destinations
      .command('get <name>')
      .description('one destination as JSON, with its last deliveries (never a secret)'),
  ).action(async (name: string, options: ConnectionOptions) => {
    ctx.out(terminalJson(parseExact(await client(ctx, options).getText(path(name)))));
  });
  withConnection(
    destinations
      .command('create <name>')
      .description('create a destination; without --secret the gateway makes one and prints it once'),
  )
    .requiredOption('--endpoint <url>', 'where to POST the events (http or https, no credentials: use --header)')
    .option('--source <name...>', 'push sources whose events go there')
    .option('--secret <whsec>', 'the Standard Webhooks signing secret (else generated)')
    .option('--timeout-ms <ms>', 'per delivery', '10000')
    .option('--header <name:value...>', 'a header sent with every delivery (stored encrypted, never shown)')
    .option('--rate-per-second <n>', 'at most n deliveries a second (the others wait)')
    .option('--rate-per-minute <n>', 'at most n deliveries a minute (the others wait)')
    .option('--failure-threshold <n>', 'open the circuit after n consecutive failures (default 5)')
    .option('--cooldown-seconds <s>', 'probe an open circuit after s seconds (default 30)')
    .action(
      async (
        name: string,
        options: ConnectionOptions & {
          endpoint: string;
          source?: string[];
          secret?: string;
          timeoutMs: string;
          header?: string[];
          ratePerSecond?: string;
          ratePerMinute?: string;
          failureThreshold?: string;
          cooldownSeconds?: string;
        },
      ) => {
        // Checked by the gateway (400 invalid_destination names the key); here only turned into numbers.
        const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
        const rate = { per_second: num(options.ratePerSecond), per_minute: num(options.ratePerMinute) };
        const circuit = {
          failure_threshold: num(options.failureThreshold),
          cooldown_seconds: num(options.cooldownSeconds),
        };
        const given = (o: Record<string, number | undefined>) =>
          Object.values(o).some((v) => v !== undefined) ? JSON.parse(JSON.stringify(o)) : undefined;
        const timeout = Number(options.timeoutMs);
        if (!Number.isInteger(timeout)) throw usageError('--timeout-ms must be a whole number of milliseconds');
        const body = {
          name,
          url: options.endpoint,
          sources: options.source ?? [],
          timeout_ms: timeout,
          ...(options.secret ? { secret: options.secret } : {}),
          ...(options.header ? { headers: parseHeaders(options.header) } : {}),
          ...(given(rate) ? { rate_limit: given(rate) } : {}),
          ...(given(circuit) ? { circuit: given(circuit) } : {}),
        };
        const answer = await client(ctx, options).post<WithSecret>('/api/destinations', body);
        ctx.out(`created ${answer.name}: ${answer.url} for ${answer.sources.join(', ') || 'no source yet'}`);
        showOnce(ctx, answer);
      },
    );
  withIfMatch(
    withConnection(destinations.command('rotate-secret <name>').description('replace the signing secret at once')),
  )
    .option('--secret <whsec>', 'the new secret (else generated and printed once)')
    .action(async (name: string, options: ConnectionOptions & IfMatchOptions & { secret?: string }) => {
      const answer = await client(ctx, options).call<WithSecret>(
        'POST',
        `${path(name)}/rotate-secret`,
        options.secret ? { secret: options.secret } : {},
        ifMatchHeader(options),
      );
      ctx.out(`rotated ${name}: fingerprint ${answer.fingerprint}`);
      showOnce(ctx, answer);
    });
  addPauseCommands<DestinationView>(destinations, ctx, {
    path,
    describe: {
      pause: 'hold deliveries (events wait, no attempt counted)',
      resume: 'deliver the held events',
      delete: 'delete a destination stored in the database',
    },
    waiting: (answer) => `${answer.health.held} event(s) held`,
  });
  return destinations;
}

import { Command } from 'commander';
import type { SourceView } from '../control/view';
import { parseExactOrPlain } from '../json/exact-values';
import { terminalJson, usageError, type CliContext, type ConnectionOptions } from './context';
import { withConnection } from './events';
import { ifMatchHeader, withIfMatch, type IfMatchOptions } from './if-match';
import { addPauseCommands, opsClientFor } from './pause-commands';
import { formatTable } from './table';

type WithSecret = SourceView & { secret?: string; secret_id?: number };

const client = opsClientFor;
const path = (name: string) => `/api/sources/${encodeURIComponent(name)}`;

/** One line per source: where it comes from, whether it is paused, its secrets' fingerprints. */
function sourceTable(sources: SourceView[]): string {
  return formatTable(
    ['NAME', 'PROVIDER', 'MANAGED BY', 'STATE', 'ON HOLD', 'SECRETS', 'ORDERING', 'TRANSFORM'],
    sources.map((s) => [
      s.name,
      s.provider,
      s.managed_by === 'database' ? `database (${s.origin})` : 'file',
      s.paused ? 'paused' : 'active',
      String(s.on_hold),
      s.secrets
        .filter((x) => !x.expired)
        .map((x) => x.fingerprint + (x.not_after ? ` (until ${x.not_after})` : ''))
        .join(', ') || '-',
      orderingText(s.ordering),
      // Its language and the version attempts record (`sources get` shows the code).
      s.transform ? `${s.transform.language} v${s.transform_version}` : '-',
    ]),
  );
}

/** `$.order_id, block` / `header x-order-id, continue`, or `-` for an unordered source. */
function orderingText(ordering: SourceView['ordering']): string {
  if (!ordering) return '-';
  const key = 'jsonPath' in ordering.key ? ordering.key.jsonPath : `header ${ordering.key.header}`;
  return `${key}, ${ordering.onFailure}${ordering.missingKey === 'no_key_lane' ? ', no-key lane' : ''}`;
}

/** Prints the secret the gateway generated: this is the only time anyone sees it. */
function showOnce(ctx: CliContext, answer: WithSecret): void {
  if (!answer.secret) return;
  ctx.out(`secret: ${answer.secret}`);
  ctx.out('(shown once: give it to the provider now; the gateway keeps it encrypted and never shows it again)');
}

/** `sources list|get|create|rotate-secret|revoke-secret|pause|resume|delete` through the ops API. */
export function sourcesCommand(ctx: CliContext): Command {
  const sources = new Command('sources').description(
    'push sources: list them, and manage those stored in the database',
  );
  withConnection(sources.command('list').description('every source, file/env ones included'))
    .option('--json', 'print JSON')
    .action(async (options: ConnectionOptions & { json?: boolean }) => {
      const { sources: list } = await client(ctx, options).get<{ sources: SourceView[] }>('/api/sources');
      ctx.out(options.json ? terminalJson(list) : sourceTable(list));
    });
  withConnection(sources.command('get <name>').description('one source as JSON (never a secret)')).action(
    async (name: string, options: ConnectionOptions) => {
      ctx.out(terminalJson(await client(ctx, options).get(path(name))));
    },
  );
  withConnection(
    sources
      .command('create <name>')
      .description('create a source; without --secret the gateway makes one and prints it once'),
  )
    .requiredOption('--provider <provider>', 'shopify, stripe, github, generic-hmac, … (see docs/providers.md)')
    .option('--secret <secret>', 'the secret the provider signs with (else generated)')
    .option(
      '--set <key=json...>',
      'another key of the config-file entry, value as JSON: --set \'rate_limit={"per_second":50}\'',
    )
    .action(
      async (name: string, options: ConnectionOptions & { provider: string; secret?: string; set?: string[] }) => {
        const entry: Record<string, unknown> = { name, provider: options.provider, ...parseSets(options.set) };
        if (options.secret) entry.secrets = [options.secret];
        const answer = await client(ctx, options).post<WithSecret>('/api/sources', entry);
        ctx.out(`created ${answer.name}: POST ${answer.path}`);
        showOnce(ctx, answer);
      },
    );
  withIfMatch(
    withConnection(
      sources.command('rotate-secret <name>').description('add a secret; the previous ones stay valid for the overlap'),
    ),
  )
    .option('--secret <secret>', 'the new secret (else generated and printed once)')
    .option('--overlap <seconds>', 'how long the previous secrets stay valid', '86400')
    .action(
      async (name: string, options: ConnectionOptions & IfMatchOptions & { secret?: string; overlap: string }) => {
        const overlap = Number(options.overlap);
        if (!Number.isInteger(overlap) || overlap < 0)
          throw usageError('--overlap must be a whole number of seconds, 0 or more');
        const body = { ...(options.secret ? { secret: options.secret } : {}), overlap_seconds: overlap };
        const answer = await client(ctx, options).call<WithSecret>(
          'POST',
          `${path(name)}/rotate-secret`,
          body,
          ifMatchHeader(options),
        );
        ctx.out(`rotated ${name}: new secret ${answer.secret_id}; the previous ones stay valid for ${overlap} s`);
        showOnce(ctx, answer);
      },
    );
  withIfMatch(
    withConnection(sources.command('revoke-secret <name> <id>').description('revoke one secret at once')),
  ).action(async (name: string, id: string, options: ConnectionOptions & IfMatchOptions) => {
    await client(ctx, options).call(
      'DELETE',
      `${path(name)}/secrets/${encodeURIComponent(id)}`,
      undefined,
      ifMatchHeader(options),
    );
    ctx.out(`revoked secret ${id} of ${name}`);
  });
  addPauseCommands<SourceView>(sources, ctx, {
    path,
    describe: {
      pause: "hold the source's events (still accepted and stored)",
      resume: 'process the held events',
      delete: 'delete a source stored in the database (its events stay)',
    },
    waiting: (answer) => `${answer.on_hold} event(s) on hold`,
  });
  return sources;
}

function parseSets(sets: string[] = []): Record<string, unknown> {
  return Object.fromEntries(
    sets.map((item) => {
      const at = item.indexOf('=');
      if (at <= 0) throw usageError(`--set ${item}: write key=value, the value as JSON`);
      const key = item.slice(0, at);
      const text = item.slice(at + 1);
      try {
        // Read exactly, sent with its digits (ops-client's stringifyExact): the gateway then refuses a
        // tenant_context number it would round, as it does for any other client.
        return [key, parseExactOrPlain(text)];
      } catch (err) {
        // A bare word is a string (--set dedupe=event_id); an object, array or quoted string that
        // does not parse is a typo, which sent as a string got only "expected object, received string".
        if (!/^\s*[[{"]/.test(text)) return [key, text];
        // Only the position: V8's message quotes the text, which may hold a secret.
        // V8 gives no position when the text ends with something left open (`{"per_second":`).
        const message = (err as Error).message;
        const position = /at position (\d+)/.exec(message)?.[1];
        const where =
          position !== undefined
            ? ` at character ${Number(position) + 1}`
            : /end of JSON input/.test(message)
              ? ` at its end, character ${text.length + 1} (something opened is not closed)`
              : '';
        throw usageError(
          `--set ${key}: the value is not valid JSON${where}; write it in single quotes, e.g. --set 'rate_limit={"per_second":50}'`,
        );
      }
    }),
  );
}

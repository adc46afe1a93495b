import type { SourceView } from '../control/view-shapes';
import { CliError } from './context';
import type { OpsClient } from './ops-client';

/** Most names an unknown-source message lists; `sources list` shows them all. */
const NAMES_SHOWN = 20;

/**
 * Refuses a `--source` the gateway has no source of (exit 2), naming the ones it has. The live
 * stream filters on the name as typed, so a misspelt one would show nothing, forever, and look
 * like a quiet source. Push sources (GATEWAY_CONFIG, the environment, created at runtime with the
 * ops API or `apply`) and poll sources all count: the gateway is asked, never this shell's config.
 */
export async function requireKnownSource(client: OpsClient, base: string, source: string): Promise<void> {
  try {
    await client.get(`/api/sources/${encodeURIComponent(source)}`);
    return;
  } catch (err) {
    if (!(err instanceof CliError) || err.code === undefined) throw err;
    if (err.code !== 'source_not_found') throw cannotCheck(source, err);
  }
  let push: SourceView[];
  try {
    ({ sources: push } = await client.get<{ sources: SourceView[] }>('/api/sources'));
  } catch (err) {
    throw err instanceof CliError && err.code !== undefined ? cannotCheck(source, err) : err;
  }
  const poll = await pollSourceNames(client);
  if (poll.includes(source)) return;
  const names = [...new Set([...push.map((s) => s.name), ...poll])].sort();
  const shown = names
    .slice(0, NAMES_SHOWN)
    .map((n) => `"${n}"`)
    .join(', ');
  const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : '';
  const known = names.length === 0 ? 'It has no sources yet' : `Its sources: ${shown}${more}`;
  // The CLI prints every CliError through terminalSafe: a name holding control characters is escaped.
  throw new CliError(
    `Unknown source "${source}": the gateway at ${base} has no source of that name, so nothing would ever show. ` +
      `${known} (list them with: webhook-gateway sources list)`,
    2,
    'source_not_found',
  );
}

/** Poll sources (GET /api/sps/sources); none when the gateway does not say (an older one). */
async function pollSourceNames(client: OpsClient): Promise<string[]> {
  try {
    const { sources } = await client.get<{ sources: { name: string }[] }>('/api/sps/sources');
    return sources.map((s) => s.name);
  } catch {
    return [];
  }
}

/** The gateway answered, but not whether the source exists (a refused token, a role too small). */
const cannotCheck = (source: string, err: CliError) =>
  new CliError(
    `Cannot check that source "${source}" exists, so nothing was started. ${err.message}`,
    err.exitCode,
    err.code,
  );

import { useIssueMessages } from '../validation/issue-message';
import { splitProcessingKeys, toDestinationConfig, toProcessingConfig } from './processing';
import { toAlertsConfig } from '../alerts/config';
import type { ProviderName } from '../../providers';
import { sourcesFileSchema } from './file-schema';
import { SourcesFileError, type Env, type GatewayFile, type SourceConfig, type SourceSecret } from './file-types';

/** Validates a parsed sources document (the file's content as a value) and resolves env: secrets. */
export function parseSourcesDocument(document: unknown, env: Env): SourceConfig[] {
  return parseGatewayDocument(document, env).sources;
}

/** The whole file: push `sources` and pull `polls`. */
export function parseGatewayDocument(document: unknown, env: Env): GatewayFile {
  // `apply -f` checks a file without loading the configuration: its problems read as the gateway's.
  useIssueMessages();
  const parsed = sourcesFileSchema(env).safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${describePath(issue.path, document)}: ${issue.message}`);
    throw new SourcesFileError(problems.join('; '));
  }
  return {
    sources: parsed.data.sources.map(toSourceConfig),
    destinations: parsed.data.destinations.map((d) => ({ ...toDestinationConfig(d), sources: d.sources })),
    polls: parsed.data.polls,
    alerts: toAlertsConfig(parsed.data.alerts),
  };
}

function toSourceConfig(raw: unknown): SourceConfig {
  const { name, provider, secrets, ...keys } = raw as Record<string, unknown> & {
    name: string;
    provider: ProviderName;
    secrets: SourceSecret[];
  };
  const { processing, rest: options } = splitProcessingKeys(keys);
  return { name, provider, secrets, options, processing: toProcessingConfig(processing) };
}

/**
 * One source entry, as the file would write it, validated by the file's own schema (so the ops API
 * and the file accept exactly the same things). Throws SourcesFileError naming each field
 * (`provider`, `rate_limit.per_second`). Secrets may be left out when the caller adds them later.
 */
export function parseSourceEntry(entry: unknown, env: Env, options: { requireSecrets?: boolean } = {}): SourceConfig {
  const parsed = sourcesFileSchema(env, options).safeParse({ sources: [entry] });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path
        .slice(2)
        .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
        .join('')
        .replace(/^\./, '');
      return `${path || 'source'}: ${issue.message}`;
    });
    throw new SourcesFileError(problems.join('; '));
  }
  return toSourceConfig(parsed.data.sources[0]);
}

/** `sources[2].secrets[0]` plus the source's name when it has one, so the operator finds the field. */
function describePath(path: readonly PropertyKey[], document: unknown): string {
  const source = typeof path[1] === 'number' ? (document as { sources?: unknown[] })?.sources?.[path[1]] : undefined;
  const item = source as { name?: unknown; secrets?: unknown[] } | undefined;
  // A secret written as a plain string has no "value" key to point at.
  const shortSecret =
    path[2] === 'secrets' && typeof path[3] === 'number' && typeof item?.secrets?.[path[3]] === 'string';
  const shown = shortSecret && path[4] === 'value' ? path.slice(0, 4) : path;
  const text = shown
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
  if (path[0] !== 'sources' || typeof item?.name !== 'string') return text || '(file)';
  return `${text} (source "${item.name}")`;
}

import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import {
  destinationEntry,
  processingShape,
  toProcessingConfig,
  toProtection,
  type ProcessingConfig,
} from './processing';
import { providerModules, type ProviderModule, type ProviderName } from '../../providers';
import { pollSourcesSchema, type PollSourceOptions } from '../poll/config';
import { alertsSectionSchema, toAlertsConfig, type AlertsConfig } from '../alerts/config';
import { parseConfigText } from './exact-filters';
import { FileTooLargeError, NotARegularFileError, readTextFileLimited } from './read-text-file';

/** One verification secret; `notAfter` ends its rotation overlap (checked per request, not at load). */
export interface SourceSecret {
  readonly value: string;
  readonly notAfter?: Date;
}

/** A push source declared in the GATEWAY_CONFIG file, validated and with secrets resolved. */
export interface SourceConfig {
  readonly name: string;
  readonly provider: ProviderName;
  readonly secrets: readonly SourceSecret[];
  /** The provider's own options, as parsed by its module (snake_case keys, defaults applied). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Destinations, retry policy, payload schemas and masking (see src/config/processing.ts). */
  readonly processing: ProcessingConfig;
}

/** A problem with the file: its path, format or content. The message names the file and the field. */
export class SourcesFileError extends Error {
  override name = 'SourcesFileError';
}

type Env = Readonly<Record<string, string | undefined>>;

/** URL-safe, and never a path segment that means something else. */
const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * The file's schema. Every source has name, provider and secrets; the rest are the provider's
 * options (a discriminated union on `provider`). Unknown keys are errors, so a typo cannot silently
 * fall back to a default.
 */
function sourcesFileSchema(env: Env, { requireSecrets = true } = {}) {
  // A secret is written literally or as env:VAR_NAME, resolved through the env given to loadConfig.
  const secretText = z
    .string()
    .min(1, 'must not be empty')
    .transform((text, ctx) => {
      const reference = ENV_REFERENCE.exec(text);
      if (!reference) return text;
      const value = env[reference[1]!]?.trim();
      if (!value) {
        ctx.addIssue({ code: 'custom', message: `environment variable ${reference[1]} is not set` });
        return z.NEVER;
      }
      return value;
    });
  // The short form "secret" means { "value": "secret" } (no end of overlap).
  const secret = z.preprocess(
    (item) => (typeof item === 'string' ? { value: item } : item),
    z
      .strictObject(
        { value: secretText, not_after: z.iso.datetime({ offset: true }).optional() },
        {
          error: (issue) =>
            issue.code === 'invalid_type' ? 'must be a string or { "value", "not_after" }' : undefined,
        },
      )
      .transform(({ value, not_after }): SourceSecret =>
        not_after ? { value, notAfter: new Date(not_after) } : { value },
      ),
  );
  const base = {
    ...processingShape(secretText),
    name: z
      .string()
      .regex(SOURCE_NAME, 'must be 1-63 characters of a-z, 0-9, "-" and "_", starting with a letter or digit'),
    // At least one, unless the provider verifies without (checked per source below).
    secrets: z.array(secret).default([]),
  };
  // Keyed by the name a file uses, so an alias (svix) is its own literal next to its module's name.
  const modules = Object.entries(providerModules) as [ProviderName, ProviderModule][];
  const [first, ...rest] = modules.map(([provider, module]) =>
    module.options.safeExtend({ ...base, provider: z.literal(provider) }),
  );
  const source = z.discriminatedUnion('provider', [first!, ...rest]).superRefine((parsed, ctx) => {
    const {
      name: _name,
      provider,
      secrets,
      ...options
    } = parsed as Record<string, unknown> & {
      provider: ProviderName;
      secrets: SourceSecret[];
    };
    const module: ProviderModule = providerModules[provider];
    if (requireSecrets && secrets.length === 0 && !module.secretsOptional(options)) {
      ctx.addIssue({ code: 'custom', path: ['secrets'], message: 'list at least one secret' });
    }
    secrets.forEach((s, index) => {
      const problem = module.checkSecret(s.value, options);
      if (problem) ctx.addIssue({ code: 'custom', path: ['secrets', index], message: problem });
    });
  });
  return z
    .strictObject({
      sources: z.array(source).default([]),
      // Destinations with the sources they serve (docs/destinations.md): read-only under
      // GATEWAY_CONFIG, synced into the database by `webhook-gateway apply -f`.
      destinations: z
        .array(
          destinationEntry(secretText).extend({
            sources: z.array(z.string().regex(SOURCE_NAME, 'must be a source name')).default([]),
          }),
        )
        .default([])
        .refine((list) => new Set(list.map((d) => d.name)).size === list.length, 'destination names must be unique'),
      polls: pollSourcesSchema(env).default([]),
      alerts: alertsSectionSchema(env).optional(),
    })
    .superRefine((file, ctx) => {
      const seen = new Set<string>();
      file.sources.forEach((s, index) => {
        const { name } = s as { name: string };
        if (seen.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['sources', index, 'name'],
            message: `duplicate source name "${name}"`,
          });
        }
        seen.add(name);
      });
      // Poll and push sources share webhook_events.source: one name, one source.
      for (const name of ['shopify', 'easypost', 'keycloak']) seen.add(name);
      file.polls.forEach((poll, index) => {
        if (seen.has(poll.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['polls', index, 'name'],
            message: `"${poll.name}" is already a push source; give the poll source its own name`,
          });
        }
      });
    });
}

/** A top-level destination of the file. */
export type FileDestination = ProcessingConfig['destinations'][number] & { sources: string[] };

/** What the GATEWAY_CONFIG file declares. */
export interface GatewayFile {
  sources: SourceConfig[];
  /** The top-level `destinations:` list, each with the sources it serves. */
  destinations: FileDestination[];
  polls: PollSourceOptions[];
  alerts: AlertsConfig;
}

/** Validates a parsed sources document (the file's content as a value) and resolves env: secrets. */
export function parseSourcesDocument(document: unknown, env: Env): SourceConfig[] {
  return parseGatewayDocument(document, env).sources;
}

/** The whole file: push `sources` and pull `polls`. */
export function parseGatewayDocument(document: unknown, env: Env): GatewayFile {
  const parsed = sourcesFileSchema(env).safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${describePath(issue.path, document)}: ${issue.message}`);
    throw new SourcesFileError(problems.join('; '));
  }
  return {
    sources: parsed.data.sources.map(toSourceConfig),
    destinations: parsed.data.destinations.map((d) => ({
      name: d.name,
      url: d.url,
      secret: d.secret,
      timeoutMs: d.timeout_ms,
      headers: d.headers,
      filter: d.filter,
      transform: d.transform,
      ...toProtection(d),
      sources: d.sources,
    })),
    polls: parsed.data.polls,
    alerts: toAlertsConfig(parsed.data.alerts),
  };
}

function toSourceConfig(raw: unknown): SourceConfig {
  const {
    name,
    provider,
    secrets,
    destinations,
    retry,
    schemas,
    mask,
    tenant_context,
    aggregate_id_path,
    rate_limit,
    ordering,
    transform,
    ...options
  } = raw as Record<string, unknown> & { name: string; provider: ProviderName; secrets: SourceSecret[] };
  const processing = toProcessingConfig({
    destinations,
    retry,
    schemas,
    mask,
    tenant_context,
    aggregate_id_path,
    rate_limit,
    ordering,
    transform,
  });
  return { name, provider, secrets, options, processing };
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

/** Reads and validates the GATEWAY_CONFIG file's push sources. */
export function loadSourcesFile(path: string, env: Env): SourceConfig[] {
  return loadGatewayFile(path, env).sources;
}

/** Reads and validates the GATEWAY_CONFIG file (.json, .yaml or .yml). */
export function loadGatewayFile(path: string, env: Env): GatewayFile {
  const format = { '.json': 'JSON', '.yaml': 'YAML', '.yml': 'YAML' }[extname(path).toLowerCase()];
  if (!format) throw new SourcesFileError(`${path} must be a .json, .yaml or .yml file`);
  let text: string;
  try {
    text = readTextFileLimited(path);
  } catch (err) {
    if (err instanceof FileTooLargeError)
      throw new SourcesFileError(`${path} is ${err.message}, more than a configuration file holds: check the path`);
    if (err instanceof NotARegularFileError)
      throw new SourcesFileError(`${path} is ${err.message}: give the path of the configuration file itself`);
    throw new SourcesFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let document: unknown;
  try {
    // Filters' numbers exact (src/config/exact-filters.ts), every other number as JSON.parse reads it.
    document = parseConfigText(text, format as 'JSON' | 'YAML');
  } catch (err) {
    throw syntaxError(path, format, text, err);
  }
  try {
    return parseGatewayDocument(document, env);
  } catch (err) {
    if (err instanceof SourcesFileError) throw new SourcesFileError(`${path}: ${err.message}`);
    throw err;
  }
}

/**
 * A syntax error by line and column only. The parsers' own messages quote the offending line
 * (yaml prints it with a caret under it, V8 quotes the JSON around the error), and in this file
 * that line may hold a secret.
 */
function syntaxError(path: string, format: string, text: string, err: unknown): SourcesFileError {
  const at = format === 'YAML' ? yamlPosition(err) : jsonPosition(text, err);
  const code = err instanceof YAMLParseError ? ` (${err.code})` : '';
  const where = at ? ` at line ${at.line}, column ${at.col}` : '';
  return new SourcesFileError(
    `${path} is not valid ${format}${where}${code}; the line is not shown because it may hold a secret`,
  );
}

function yamlPosition(err: unknown): { line: number; col: number } | undefined {
  return err instanceof YAMLParseError ? err.linePos?.[0] : undefined;
}

/**
 * V8 gives an offset for some JSON errors ("… in JSON at position 7") and none for others
 * ("Unexpected token 's', "{"a": s…" is not valid JSON"); then the yaml parser, restricted to
 * JSON's scalars, finds the spot.
 */
function jsonPosition(text: string, err: unknown): { line: number; col: number } | undefined {
  const offset = /at position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  if (offset !== undefined) {
    const before = text.slice(0, Number(offset));
    return { line: before.split('\n').length, col: Number(offset) - before.lastIndexOf('\n') };
  }
  try {
    parseYaml(text, { schema: 'json' });
  } catch (yamlErr) {
    return yamlPosition(yamlErr);
  }
  return undefined;
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

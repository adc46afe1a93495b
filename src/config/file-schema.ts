import { z } from 'zod';
import { destinationEntry, processingShape } from './processing';
import { providerModules, type ProviderModule, type ProviderName } from '../../providers';
import { pollSourcesSchema } from '../poll/config';
import { alertsSectionSchema } from '../alerts/config';
import type { Env, SourceSecret } from './file-types';
import { MAX_SOURCE_SECRETS } from './secret-count';

/** URL-safe, and never a path segment that means something else. */
const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * The file's schema. Every source has name, provider and secrets; the rest are the provider's
 * options (a discriminated union on `provider`). Unknown keys are errors, so a typo cannot silently
 * fall back to a default.
 */
export function sourcesFileSchema(env: Env, { requireSecrets = true } = {}) {
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
    // Here, not as the array's .max(): zod also runs that on a string sent in place of the list.
    if (secrets.length > MAX_SOURCE_SECRETS) {
      ctx.addIssue({
        code: 'custom',
        path: ['secrets'],
        message: `must list at most ${MAX_SOURCE_SECRETS} secrets: each request is checked against every one; give each sender a source of its own`,
      });
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

import { z } from 'zod';
import { secret } from '../poll/config';

type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const name = z
  .string()
  .regex(NAME, 'must be 1-63 characters of a-z, 0-9, "-" and "_", starting with a letter or digit');
const source = z.string().min(1).max(63).optional();
const minutes = (fallback: number) => z.number().int().min(1).max(1440).default(fallback);
// Credentials in a URL end up in every error text that quotes it (fetch refuses such URLs and
// quotes them whole), and a failed notice's error is shown with the alert and logged.
const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .refine(
    (url) => !URL.canParse(url) || (new URL(url).username === '' && new URL(url).password === ''),
    'must not contain credentials (user:password@): a receiver checks the signed notice instead',
  );

/** Each kind's thresholds; the rule's `params` object in the API and the config file. */
export const ruleParams = {
  /** Events of a source (or any) that failed for good in the last `window_minutes`. */
  event_failed: z.strictObject({ source, window_minutes: minutes(15) }),
  /** A destination whose attempts have all failed for at least `minutes` (no success since). */
  destination_failing: z.strictObject({ minutes: minutes(5) }),
  /** The oldest due event has waited longer than `older_than_seconds`. */
  backlog_age: z.strictObject({ source, older_than_seconds: z.number().int().min(1).max(604_800).default(300) }),
  /** At least `count` signature failures on a source within `minutes`: often a rotated secret not deployed yet. */
  signature_failures: z.strictObject({
    source,
    count: z.number().int().min(1).max(1_000_000).default(10),
    minutes: minutes(5),
  }),
  /** The latest poll run of a source (or any) failed. */
  poll_failing: z.strictObject({ source }),
  /** A destination's (or any's) circuit is open or half-open, or it answered 410 Gone and was paused. */
  destination_circuit_open: z.strictObject({ destination: z.string().min(1).max(63).optional() }),
} as const;

export type AlertRuleKind = keyof typeof ruleParams;

/** A rule as written in the config file or sent to POST /api/alerts/rules. */
export const alertRuleInput = z
  .strictObject({
    name,
    kind: z.enum(Object.keys(ruleParams) as [AlertRuleKind, ...AlertRuleKind[]]),
    params: z.record(z.string(), z.unknown()).default({}),
    channels: z.array(name).max(20).default([]),
    enabled: z.boolean().default(true),
  })
  .transform((rule, ctx) => {
    const params = ruleParams[rule.kind].safeParse(rule.params);
    if (!params.success) {
      for (const issue of params.error.issues)
        ctx.addIssue({ code: 'custom', path: ['params', ...issue.path.map(String)], message: issue.message });
      return z.NEVER;
    }
    return { ...rule, params: params.data as Record<string, unknown> };
  });
export type AlertRuleInput = z.output<typeof alertRuleInput>;

/** A channel's settings; `secret` (webhook) is write-only in the API. */
function channelShape(env: Env) {
  return z.discriminatedUnion('type', [
    z.strictObject({
      name,
      type: z.literal('webhook'),
      // env: too, as for Slack: a Discord or Teams URL carries its credential in the path.
      url: secret(env).pipe(httpUrl),
      // Standard Webhooks: whsec_ and base64 of at least 16 bytes, as for destinations.
      secret: secret(env).refine(
        (s) => /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/.test(s),
        'must be whsec_ followed by base64 of at least 16 bytes',
      ),
    }),
    z.strictObject({ name, type: z.literal('slack'), url: secret(env).pipe(httpUrl) }),
    z.strictObject({ name, type: z.literal('email'), to: z.array(z.email()).min(1).max(20) }),
  ]);
}
export const alertChannelInput = channelShape({});
export type AlertChannelInput = z.output<typeof alertChannelInput>;

/** The config file's `alerts:` section. SMTP settings are here only, so no mail password is ever stored in the database. */
export function alertsSectionSchema(env: Env) {
  return z
    .strictObject({
      evaluate_every_seconds: z.number().int().min(1).max(60).default(5),
      smtp: z
        .strictObject({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535).default(587),
          secure: z.boolean().default(false),
          user: z.string().min(1).optional(),
          password: secret(env).optional(),
          from: z.email(),
        })
        .optional(),
      channels: z.array(channelShape(env)).default([]),
      rules: z.array(alertRuleInput).default([]),
    })
    .superRefine((section, ctx) => {
      const channels = new Set(section.channels.map((c) => c.name));
      section.rules.forEach((rule, index) => {
        rule.channels.forEach((channel, i) => {
          if (!channels.has(channel))
            ctx.addIssue({
              code: 'custom',
              path: ['rules', index, 'channels', i],
              message: `no channel named "${channel}" in alerts.channels`,
            });
        });
      });
      if (!section.smtp && section.channels.some((c) => c.type === 'email')) {
        ctx.addIssue({ code: 'custom', path: ['smtp'], message: 'email channels need alerts.smtp (host, port, from)' });
      }
    });
}

export type AlertsSection = z.output<ReturnType<typeof alertsSectionSchema>>;

/** The alerts configuration the gateway runs with: the file's section with camelCase timing. */
export interface AlertsConfig {
  evaluateEveryMs: number;
  smtp?: AlertsSection['smtp'];
  channels: AlertChannelInput[];
  rules: AlertRuleInput[];
}

export function defaultAlertsConfig(): AlertsConfig {
  return { evaluateEveryMs: 5000, channels: [], rules: [] };
}

export function toAlertsConfig(section: AlertsSection | undefined): AlertsConfig {
  if (!section) return defaultAlertsConfig();
  return {
    evaluateEveryMs: section.evaluate_every_seconds * 1000,
    smtp: section.smtp,
    channels: section.channels,
    rules: section.rules,
  };
}

import { z } from 'zod';
import type { AlertsConfig } from '../../alerts/config';
import { parseCidrList } from '../../outbound/cidr';
import { createOutboundPolicy, type OutboundSettings } from '../../outbound/policy';
import type { PollSourceOptions } from '../../poll/config';
import type { FileDestination, SourceConfig } from '../file';

// Where the gateway's own requests may connect (src/outbound/policy.ts), and the config file's
// URLs that this refuses.

export const outboundVariables = z.object({
  /** 'true': outbound requests also refuse loopback, RFC 1918, CGNAT and ULA addresses (src/outbound/policy.ts). */
  OUTBOUND_DENY_PRIVATE: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  /** Comma-separated CIDRs exempt from every outbound refusal. */
  OUTBOUND_ALLOW_CIDRS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const parsed = parseCidrList(value);
      if ('cidrs' in parsed) return parsed.cidrs;
      const quoted = (entries: string[]) => entries.map((s) => JSON.stringify(s)).join(', ');
      ctx.addIssue({
        code: 'custom',
        message:
          'invalid' in parsed
            ? `not a CIDR: ${quoted(parsed.invalid)}; write address/prefix, comma-separated, e.g. 10.1.0.0/16,fd00:1::/64`
            : `${quoted(parsed.mapped)} overlaps the IPv4-mapped range ::ffff:0:0/96, and an IPv4 address is exempted by an IPv4 entry only; list IPv4 ranges as IPv4 (10.0.0.0/8) and IPv6 ranges outside ::ffff:0:0/96 (fd00::/8, 2000::/3)`,
      });
      return z.NEVER;
    }),
});

export type OutboundEnv = z.infer<typeof outboundVariables>;

/** The outbound settings from their validated variables. */
export function outboundSettings(e: OutboundEnv): OutboundSettings {
  return { denyPrivate: e.OUTBOUND_DENY_PRIVATE === 'true', allowCidrs: e.OUTBOUND_ALLOW_CIDRS };
}

/**
 * The file's destination and alert channel URLs, SMTP server and SFTP poll hosts whose host is an IP
 * address the gateway refuses to connect to, as the API answers 400 for them (src/outbound/policy.ts).
 * Only the address is named: a Slack URL is a credential. A host name is judged when it is resolved.
 */
export function refusedFileTargets(
  outbound: OutboundSettings,
  file: { sources: SourceConfig[]; destinations: FileDestination[]; polls: PollSourceOptions[]; alerts: AlertsConfig },
): string[] {
  const policy = createOutboundPolicy(outbound);
  const urls = [
    ...file.destinations.map((d) => ({ what: `destination "${d.name}"`, url: d.url })),
    ...file.sources.flatMap((s) =>
      s.processing.destinations.map((d) => ({ what: `source "${s.name}" destination "${d.name}"`, url: d.url })),
    ),
    ...file.alerts.channels.flatMap((c) => ('url' in c ? [{ what: `alert channel "${c.name}"`, url: c.url }] : [])),
  ];
  const hosts = [
    ...(file.alerts.smtp ? [{ what: 'alerts.smtp', host: file.alerts.smtp.host }] : []),
    ...file.polls.flatMap((p) => (p.kind === 'sps-sftp' ? [{ what: `poll source "${p.name}"`, host: p.host }] : [])),
  ];
  return [
    ...urls.flatMap(({ what, url }) => {
      const refusal = policy.urlRefusal(url);
      return refusal ? [`${what}: url: ${refusal}`] : [];
    }),
    ...hosts.flatMap(({ what, host }) => {
      const refusal = policy.hostRefusal(host);
      return refusal ? [`${what}: host: ${refusal}`] : [];
    }),
  ];
}

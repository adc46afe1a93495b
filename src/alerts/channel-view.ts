import { fingerprint } from '../control/crypto';

/**
 * Where a URL channel posts, shown without its path or query: Slack, Discord and Microsoft Teams
 * webhook URLs carry their credential in the path, and any receiver may, so only the origin is
 * shown (`https://hooks.slack.com/…`); `urlFingerprint` tells a changed path.
 */
const maskedUrl = (url: URL) => (url.pathname === '/' && !url.search ? `${url.origin}/` : `${url.origin}/…`);

/**
 * What may be shown of a channel's settings: where notices go, without a credential (a URL's
 * origin only, as its path may be the credential; the email recipients), the fingerprint of its
 * secret (webhook signing secret; for Slack the URL, its only credential) and of its URL. Used by
 * the API's views and by `apply -f`, which compares a file's channels with them.
 */
export function describeChannel(
  type: string,
  config: { url?: string; secret?: string; to?: readonly string[] },
): { target: string; hasSecret: boolean; secretFingerprint: string | null; urlFingerprint: string | null } {
  const target = config.url ? maskedUrl(new URL(config.url)) : (config.to ?? []).join(', ');
  const secret = type === 'slack' ? config.url : config.secret;
  return {
    target,
    hasSecret: Boolean(config.secret),
    secretFingerprint: secret ? fingerprint(secret) : null,
    urlFingerprint: config.url ? fingerprint(config.url) : null,
  };
}

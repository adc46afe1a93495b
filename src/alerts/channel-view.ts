import { fingerprint } from '../control/crypto';

/**
 * What may be shown of a channel's settings: where notices go, without a credential (a webhook
 * URL's origin and path; a Slack URL's origin only, as its path is the credential; the email
 * recipients) and the fingerprint of its secret (webhook signing secret, Slack URL). Used by the
 * API's views and by `apply -f`, which compares a file's channels with them.
 */
export function describeChannel(
  type: string,
  config: { url?: string; secret?: string; to?: readonly string[] },
): { target: string; hasSecret: boolean; secretFingerprint: string | null } {
  let target = (config.to ?? []).join(', ');
  if (config.url) {
    const url = new URL(config.url);
    target = type === 'slack' ? `${url.origin}/…` : `${url.origin}${url.pathname}`;
  }
  const secret = type === 'slack' ? config.url : config.secret;
  return { target, hasSecret: Boolean(config.secret), secretFingerprint: secret ? fingerprint(secret) : null };
}

import { createHmac, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';

/** Where the copies of octokit/webhooks' payload examples live (see its README). */
export const CORPUS_DIR = path.join(__dirname, '..', 'fixtures', 'github');

/** One published example: the event it is sent as, and its exact bytes. */
export interface GithubExample {
  /** `<event>/<file>`, as under payload-examples/api.github.com/ upstream. */
  name: string;
  /** X-GitHub-Event: the example's folder. */
  event: string;
  bytes: Buffer;
  /** The topic the gateway documents for GitHub: the event, then `.<action>` when the payload has one. */
  topic: string;
}

/** Every example under test/fixtures/github/<event>/, sorted by name. */
export function loadGithubExamples(): GithubExample[] {
  const examples: GithubExample[] = [];
  for (const event of readdirSync(CORPUS_DIR, { withFileTypes: true })) {
    if (!event.isDirectory()) continue;
    for (const file of readdirSync(path.join(CORPUS_DIR, event.name)).filter((f) => f.endsWith('.json'))) {
      const bytes = readFileSync(path.join(CORPUS_DIR, event.name, file));
      const { action } = JSON.parse(bytes.toString('utf8')) as { action?: unknown };
      const topic = typeof action === 'string' && action ? `${event.name}.${action}` : event.name;
      examples.push({ name: `${event.name}/${file}`, event: event.name, bytes, topic });
    }
  }
  return examples.sort((a, b) => a.name.localeCompare(b.name));
}

/** The webhook (hook) every delivery of the test comes from, as GitHub names it in its headers. */
export const HOOK = { id: '292430182', targetType: 'repository', targetId: '79929171' };

/**
 * The headers GitHub sends with a delivery (GitHub Docs, *Webhook events and payloads* → *Delivery
 * headers*, and its example delivery): both signatures, the event, the delivery GUID, the hook's id
 * and installation target, `User-Agent: GitHub-Hookshot/<sha>` and the hook's content type. The
 * SHA-256 signature is made by @octokit/webhooks-methods (GitHub's own library), the legacy SHA-1
 * one with node:crypto; neither through the gateway's code.
 */
export async function githubDelivery(
  secret: string,
  event: string,
  body: Buffer,
  options: { delivery?: string; contentType?: 'application/json' | 'application/x-www-form-urlencoded' } = {},
): Promise<Record<string, string>> {
  return {
    'content-type': options.contentType ?? 'application/json',
    'user-agent': 'GitHub-Hookshot/044aadd',
    'x-github-event': event,
    'x-github-delivery': options.delivery ?? randomUUID(),
    'x-github-hook-id': HOOK.id,
    'x-github-hook-installation-target-type': HOOK.targetType,
    'x-github-hook-installation-target-id': HOOK.targetId,
    'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
    'x-hub-signature-256': await sign(secret, body.toString('utf8')),
  };
}

/** A `form` hook's body: the event's JSON as the form parameter `payload`. */
export const formBody = (json: Buffer) =>
  Buffer.from(new URLSearchParams({ payload: json.toString('utf8') }).toString());

export { bodyBytes, exactJson, exactJsonOfText } from './corpus-gateway';

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProviderName } from '../../providers';
import { badRequest } from '../errors';
import { SAMPLES_DIR } from '../resources';
import { SAMPLES, withFreshIds } from './samples';
import { SIGNERS, type SignedRequest } from './signers';

/** The source a test event is for: its provider, parsed options and one secret to sign with. */
export interface TestEventSource {
  name: string;
  provider: ProviderName;
  options: Readonly<Record<string, unknown>>;
  secret: string;
}

/** A delivery signed as the provider signs it: POST `path` (with its query) with these headers and body. */
export interface TestEventRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The topic the event carries (where the provider has one). */
  topic: string | undefined;
}

const DEFAULT_TOPIC = 'webhook_gateway.test';
const TOPIC = /^[\w.:/-]{1,100}$/;

/**
 * A realistic event for the source, signed with `secret` exactly as its provider would: the
 * provider's own sample (providers/samples, as `webhook-gateway trigger` sends) where there is one,
 * else a small JSON event shaped by the source's id/topic options. Fresh ids make each a new event.
 */
export async function buildTestEvent(
  source: TestEventSource,
  topic?: string,
  now = new Date(),
): Promise<TestEventRequest> {
  if (topic !== undefined && !TOPIC.test(topic)) {
    throw badRequest('invalid_topic', 'topic: use up to 100 letters, digits and . : / _ - (e.g. orders/create)');
  }
  const signer = SIGNERS[source.provider];
  const samples = SAMPLES.filter((s) => s.provider === source.provider);
  const topicInPayload = signer.topicFrom?.(source.options) !== undefined;
  let body: Buffer;
  let sent: string | undefined;
  if (samples.length > 0) {
    const sample = samples.find((s) => s.event === topic) ?? samples[0]!;
    // Stripe, EasyPost and Keycloak name the topic inside their sample: only those topics exist.
    if (topic !== undefined && topicInPayload && sample.event !== topic) {
      throw badRequest(
        'invalid_topic',
        `topic: ${source.provider} samples are ${samples.map((s) => s.event).join(', ')}; leave it out or choose one`,
      );
    }
    sent = topic ?? sample.event;
    body = withFreshIds(await readFile(join(SAMPLES_DIR, sample.file)), signer.idFrom?.(source.options) !== undefined);
  } else {
    sent = topic ?? DEFAULT_TOPIC;
    body = Buffer.from(JSON.stringify(genericEvent(source, sent, now)));
  }
  const path = `/api/webhooks/${source.name}`;
  const id =
    source.provider === 'standard-webhooks' || source.provider === 'svix'
      ? `msg_${randomUUID().replaceAll('-', '')}`
      : randomUUID();
  const signed: SignedRequest = signer.sign({
    secret: source.secret,
    body,
    path,
    id,
    topic: sent,
    account: 'dev-shop.myshopify.com',
    now,
    options: source.options,
  });
  return {
    path: signed.query ? `${path}?${signed.query}` : path,
    headers: {
      'content-type': 'application/json',
      'user-agent': `webhook-gateway-test-event (${source.provider})`,
      ...signed.headers,
    },
    body,
    topic: sent,
  };
}

/**
 * Standard Webhooks' envelope (type, timestamp, data), with the id and topic also where a
 * configurable source's id_path / topic_path look for them.
 */
function genericEvent(source: TestEventSource, topic: string, now: Date): Record<string, unknown> {
  const event: Record<string, unknown> = {
    id: `evt_${randomUUID().replaceAll('-', '')}`,
    type: topic,
    timestamp: now.toISOString(),
    data: { test: true, message: 'A test event sent from webhook-gateway (POST /api/sources/{name}/test-event)' },
  };
  const { id_path: idPath, topic_path: topicPath } = source.options as { id_path?: string[]; topic_path?: string[] };
  if (idPath) setAt(event, idPath, event.id);
  if (topicPath) setAt(event, topicPath, topic);
  return event;
}

/** Sets a value at a dot path (already split), creating objects on the way. */
function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (node[key] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {}) as Record<
      string,
      unknown
    >;
  }
  node[path[path.length - 1]!] = value;
}

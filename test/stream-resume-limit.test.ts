import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';
import { openEventStream } from './helpers/sse';

// A stream resumed with Last-Event-ID / after= re-sends up to 1,000 missed arrivals, oldest first,
// and says `resume_truncated` only when more than that were missed: with exactly 1,000 it said so
// too, sending a client (listen) to look for events it had not missed.

const MISSED = 1001;

describe('resuming the live stream after many arrivals', () => {
  let gw: TestGateway;
  const ids: number[] = [];

  beforeAll(async () => {
    gw = await startTestGateway('pglite', {}, { role: 'web' });
    for (let from = 0; from < MISSED; from += 50) {
      const sent = await Promise.all(
        Array.from({ length: Math.min(50, MISSED - from) }, (_, i) => {
          const body = JSON.stringify({ id: from + i });
          return post(`${gw.url}/api/webhooks/shopify`, body, shopifyHeaders(SECRETS.shopify, body, `r-${from + i}`));
        }),
      );
      for (const s of sent) ids.push(s.json.id);
    }
    ids.sort((a, b) => a - b);
  }, 180_000);
  afterAll(() => gw?.stop());

  const resumed = async (after: number) => {
    const stream = await openEventStream(`${gw.url}/api/events/stream?after=${after}`, SECRETS.ops);
    try {
      await waitFor(() => stream.events.filter((e) => e.event === 'received').length >= 1000, 30_000, '1000 re-sent');
      return stream.events.filter((e) => e.event !== 'ready');
    } finally {
      await stream.close();
    }
  };

  it('more than 1,000 missed: the 1,000 oldest in order, then says the rest must be listed', async () => {
    const events = await resumed(ids[0]! - 1);
    expect(events[0]?.event).toBe('resume_truncated');
    expect(events[0]?.data.resent).toBe(1000);
    const received = events.filter((e) => e.event === 'received').map((e) => e.data);
    expect(received.map((d) => d.id)).toEqual(ids.slice(0, 1000));
    expect(received.every((d) => d.arrival === true)).toBe(true);
  }, 60_000);

  it('exactly 1,000 missed: all re-sent, no resume_truncated', async () => {
    const events = await resumed(ids[0]!);
    expect(events.filter((e) => e.event === 'resume_truncated')).toEqual([]);
    expect(events.filter((e) => e.event === 'received').map((e) => e.data.id)).toEqual(ids.slice(1));
  }, 60_000);
});

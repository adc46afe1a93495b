import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';
import { openEventStream } from './helpers/sse';

// The event detail redacts kept headers whose name looks like a credential (src/ops/shown-headers.ts).
// The live stream's include=request sent the same stored headers in clear to any viewer.

const API_KEY = 'api-key-for-stream-header-tests';
const DELIVERY_TOKEN = 'dlv-tok-93kf02mza7';

describe.each(databaseKinds())('kept headers on the live stream on %s', (kind) => {
  let gw: TestGateway;

  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          // The sender's delivery id travels in a header named like a credential: kept, as identity.
          {
            name: 'keyed',
            provider: 'api-key',
            secrets: [API_KEY],
            header: 'x-api-key',
            id_header: 'x-delivery-token',
          },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, { sources }, { role: 'web' });
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('are redacted by name as in the event detail', async () => {
    const stream = await openEventStream(`${gw.url}/api/events/stream?include=request`, SECRETS.ops);
    try {
      await waitFor(() => stream.events.some((e) => e.event === 'ready'), 10_000, 'the stream to be ready');
      const sent = await post(`${gw.url}/api/webhooks/keyed`, '{"n":1}', {
        'x-api-key': API_KEY,
        'x-delivery-token': DELIVERY_TOKEN,
      });
      expect(sent.status).toBe(200);
      const detail = (await (
        await fetch(`${gw.url}/api/events/${sent.json.id}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })
      ).json()) as { headers: Record<string, string> };
      expect(detail.headers['x-delivery-token']).toBe('[redacted]');
      const arrival = await waitFor(
        () => stream.events.find((e) => e.event === 'received' && e.data.id === sent.json.id),
        10_000,
        'the arrival on the stream',
      );
      expect(arrival!.data.request.headers).toEqual(detail.headers);
      expect(arrival!.data.request.headers['x-delivery-token']).toBe('[redacted]');
    } finally {
      await stream.close();
    }
  });
});

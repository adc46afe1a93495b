import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableSpans } from '../src/tracing/spans';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders, shopifySignature } from './helpers/signers';

// The SDK's in-memory exporter, registered the way an embedder registers its own provider: the
// gateway records its spans in the global provider once told to (TRACING stays unset, so it adds none).
const exporter = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
await enableSpans();

// A PGlite gateway on two shared cores: 35 s to start was measured under load (test/ui-browser.test.ts).
const SETUP_TIMEOUT_MS = 180_000;
const PAYLOAD_MARKER = 'secret-customer-note-4711';
// The sender's own span, as a W3C traceparent it sends along (version 00, sampled).
const SENDER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SENDER_SPAN = '00f067aa0ba902b7';

describe('OpenTelemetry spans through the real server, worker and a local destination', () => {
  let gw: TestGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const spans = () => exporter.getFinishedSpans();
  const named = (name: string) => spans().filter((s) => s.name === name);
  let body: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway('pglite', { worker: { cron: '0 0 1 1 *' } });
    gw.gateway.forward('shopify', {
      provider: 'shopify',
      destinations: [{ name: 'erp', url: receiver.url, secret: DESTINATION_SECRET, timeoutMs: 5_000 }],
    });
    body = JSON.stringify({ id: 4711, note: PAYLOAD_MARKER });
    expect(
      (
        await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, {
          ...shopifyHeaders(SECRETS.shopify, body, 'trace-1'),
          traceparent: `00-${SENDER_TRACE}-${SENDER_SPAN}-01`,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, {
          ...shopifyHeaders('not-the-secret', body, 'trace-2'),
          traceparent: '00-not-a-valid-trace-context-01',
        })
      ).status,
    ).toBe(401);
    // Refused before the source's chain: a method other than POST, a sub-path EasyPost does not
    // take, and a name no source has.
    const easypost = `${gw.url}/api/webhooks/easypost`;
    const sender = { traceparent: `00-${SENDER_TRACE}-${SENDER_SPAN}-01` };
    expect((await fetch(easypost, { headers: sender })).status).toBe(405);
    expect((await fetch(`${easypost}/extra`, { method: 'POST', body: '{}', headers: sender })).status).toBe(404);
    expect((await fetch(`${gw.url}/api/webhooks/no-such-source`, { method: 'POST', body: '{}' })).status).toBe(404);
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return named('deliver erp').length === 1 && named('process shopify').length === 1;
      },
      20_000,
      'attempt and delivery spans',
    );
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  it('has one ingest span per request, with source, outcome and reason code', () => {
    const ingest = named('ingest shopify');
    expect(ingest).toHaveLength(2);
    const accepted = ingest.find((s) => s.attributes['webhook.outcome'] === 'accepted')!;
    const rejected = ingest.find((s) => s.attributes['webhook.outcome'] === 'rejected')!;
    expect(accepted.kind).toBe(SpanKind.SERVER);
    expect(accepted.attributes).toMatchObject({
      'webhook.source': 'shopify',
      'http.response.status_code': 200,
      'webhook.event_id': expect.any(Number),
    });
    expect(rejected.attributes).toMatchObject({
      'webhook.reject_reason': 'invalid_signature',
      'http.response.status_code': 401,
    });
    // A 4xx is the sender's mistake, not a failure of the gateway.
    expect(rejected.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it("has an ingest span for a known source's 404 and 405 too, and none for an unknown name", () => {
    const refused = named('ingest easypost').map((s) => ({
      kind: s.kind,
      attributes: s.attributes,
      failed: s.status.code === SpanStatusCode.ERROR,
      traceId: s.spanContext().traceId,
    }));
    const common = { kind: SpanKind.SERVER, failed: false, traceId: SENDER_TRACE };
    expect(refused).toEqual(
      expect.arrayContaining([
        {
          ...common,
          attributes: {
            'webhook.source': 'easypost',
            'http.request.method': 'GET',
            'webhook.outcome': 'rejected',
            'webhook.reject_reason': 'method_not_allowed',
            'http.response.status_code': 405,
          },
        },
        {
          ...common,
          attributes: {
            'webhook.source': 'easypost',
            'http.request.method': 'POST',
            'webhook.outcome': 'rejected',
            'webhook.reject_reason': 'not_found',
            'http.response.status_code': 404,
          },
        },
      ]),
    );
    expect(refused).toHaveLength(2);
    expect(spans().filter((s) => s.name.includes('no-such-source'))).toEqual([]);
  });

  it('has one span per attempt, and the destination call as its child, whose traceparent reached the destination', () => {
    const [attempt] = named('process shopify') as [ReadableSpan];
    const [call] = named('deliver erp') as [ReadableSpan];
    const eventId = named('ingest shopify').find((s) => s.attributes['webhook.outcome'] === 'accepted')!.attributes[
      'webhook.event_id'
    ];
    expect(attempt.kind).toBe(SpanKind.CONSUMER);
    expect(attempt.attributes).toMatchObject({
      'webhook.event_id': eventId,
      'webhook.attempt': 1,
      'webhook.outcome': 'completed',
      'webhook.topic': 'orders/create',
    });
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(call.attributes).toMatchObject({
      'webhook.destination': 'erp',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
    });
    expect(call.spanContext().traceId).toBe(attempt.spanContext().traceId);
    expect(call.parentSpanContext?.spanId).toBe(attempt.spanContext().spanId);
    // W3C trace context, version 00, sampled: the destination can continue the trace.
    const [delivery] = receiver.deliveries;
    expect(delivery!.headers.traceparent).toBe(`00-${call.spanContext().traceId}-${call.spanContext().spanId}-01`);
  });

  it("continues the sender's trace: a valid traceparent is the ingest span's parent, an invalid one is ignored", () => {
    const ingest = named('ingest shopify');
    const accepted = ingest.find((s) => s.attributes['webhook.outcome'] === 'accepted')!;
    const rejected = ingest.find((s) => s.attributes['webhook.outcome'] === 'rejected')!;
    expect(accepted.spanContext().traceId).toBe(SENDER_TRACE);
    expect(accepted.parentSpanContext?.spanId).toBe(SENDER_SPAN);
    expect(rejected.parentSpanContext).toBeUndefined();
    expect(rejected.spanContext().traceId).not.toBe(SENDER_TRACE);
  });

  it('links each attempt span to the ingest span of its event, stored with the event', async () => {
    const accepted = named('ingest shopify').find((s) => s.attributes['webhook.outcome'] === 'accepted')!;
    const [attempt] = named('process shopify') as [ReadableSpan];
    expect(attempt.links.map((l) => l.context.spanId)).toEqual([accepted.spanContext().spanId]);
    expect(attempt.links[0]!.context.traceId).toBe(accepted.spanContext().traceId);
    // A trace of its own: a retry hours later is not stretched into the request's trace.
    expect(attempt.parentSpanContext).toBeUndefined();
    const [row] = await gw.query<{ headers: Record<string, string> }>(
      `select headers from webhook_events where webhook_id like '%trace-1'`,
    );
    expect(row!.headers.traceparent).toBe(`00-${SENDER_TRACE}-${accepted.spanContext().spanId}-01`);
  });

  it('never records a payload value, a secret or a signature', () => {
    const recorded = JSON.stringify(
      spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
    );
    for (const secret of [
      PAYLOAD_MARKER,
      SECRETS.shopify,
      shopifySignature(SECRETS.shopify, body),
      DESTINATION_SECRET,
      receiver.url,
    ]) {
      expect(recorded).not.toContain(secret);
    }
  });
});

import { createServer } from 'node:http';
import { loadConfig } from '../src/config/env';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startReceiver } from './helpers/receiver';
import { post, shopifyHeaders } from './helpers/signers';

// A PGlite gateway on two shared cores: 35 to 60 s to start was measured under load.
const TIMEOUT_MS = 240_000;

/** A local OTLP/HTTP collector: records each export request's path, content type and JSON body. */
async function startCollector() {
  const exports: { path: string; type: string; body: any }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      exports.push({
        path: request.url ?? '',
        type: request.headers['content-type'] ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    exports,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tracing configuration: off by default, OTLP/HTTP export when on', () => {
  let testDb: TestDatabase;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let gw: TestGateway | undefined;
  const deliverOne = async (id: string) => {
    const body = JSON.stringify({ id });
    expect(
      (await post(`${gw!.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders(SECRETS.shopify, body, id)))
        .status,
    ).toBe(200);
    const before = receiver.deliveries.length;
    await waitFor(
      async () => {
        await gw!.gateway.worker.tick();
        return receiver.deliveries.length > before;
      },
      20_000,
      'delivery',
    );
    return receiver.deliveries.at(-1)!;
  };
  const start = async (tracing: { enabled: boolean; url?: string }) => {
    gw = await startTestGateway(
      'pglite',
      { worker: { cron: '0 0 1 1 *' }, tracing: { ...tracing, serviceName: 'gw-otlp-test' } },
      { testDb },
    );
    gw.gateway.forward('shopify', {
      provider: 'shopify',
      destinations: [{ name: 'erp', url: receiver.url, secret: DESTINATION_SECRET, timeoutMs: 5_000 }],
    });
  };

  beforeAll(async () => {
    testDb = await createTestDatabase('pglite');
    receiver = await startReceiver();
    collector = await startCollector();
  });
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
    await collector?.close();
    await testDb?.drop();
  });

  it(
    'sends no traceparent and exports nothing when tracing is not configured',
    async () => {
      await start({ enabled: false });
      const delivery = await deliverOne('off-1');
      expect(delivery.headers.traceparent).toBeUndefined();
      await gw!.stop();
      gw = undefined;
      expect(collector.exports).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'exports the spans as OTLP JSON to the configured endpoint, flushed at shutdown, and sends traceparent',
    async () => {
      await start({ enabled: true, url: `${collector.base}/v1/traces` });
      const delivery = await deliverOne('on-1');
      expect(delivery.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      await gw!.stop();
      gw = undefined;
      expect(collector.exports.length).toBeGreaterThan(0);
      expect(collector.exports.every((e) => e.path === '/v1/traces' && e.type.startsWith('application/json'))).toBe(
        true,
      );
      const resourceSpans = collector.exports.flatMap((e) => e.body.resourceSpans);
      const service = resourceSpans[0].resource.attributes.find((a: any) => a.key === 'service.name');
      expect(service.value.stringValue).toBe('gw-otlp-test');
      const names = resourceSpans.flatMap((r: any) =>
        r.scopeSpans.flatMap((s: any) => s.spans.map((span: any) => span.name)),
      );
      expect(names).toEqual(expect.arrayContaining(['ingest shopify', 'process shopify', 'deliver erp']));
      // The destination's traceparent names the exported delivery span.
      const deliver = resourceSpans
        .flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans))
        .find((s: any) => s.name === 'deliver erp');
      expect(delivery.headers.traceparent).toBe(`00-${deliver.traceId}-${deliver.spanId}-01`);
    },
    TIMEOUT_MS,
  );
});

describe('tracing settings from the environment', () => {
  const tracing = (env: Record<string, string>) => loadConfig(env).tracing;

  it('is off unless an OTLP endpoint or TRACING=otlp is set', () => {
    expect(tracing({})).toEqual({
      enabled: false,
      url: 'http://localhost:4318/v1/traces',
      serviceName: 'webhook-gateway',
    });
    expect(tracing({ TRACING: 'otlp' }).enabled).toBe(true);
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      enabled: true,
      url: 'http://collector:4318/v1/traces',
      serviceName: 'webhook-gateway',
    });
    expect(
      tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otlp.example/api/traces', OTEL_SERVICE_NAME: 'edge-gw' }),
    ).toEqual({
      enabled: true,
      url: 'https://otlp.example/api/traces',
      serviceName: 'edge-gw',
    });
    expect(tracing({ TRACING: 'off', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).enabled).toBe(false);
  });

  it('names the variable when a value is wrong', () => {
    expect(() => loadConfig({ TRACING: 'jaeger' })).toThrow(/TRACING/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

describe('the OTLP exporter sends only where the environment says', () => {
  // The endpoint is operator configuration, not guarded by the outbound policy (docs/security.md):
  // nothing at runtime may move it, a collector's redirect included.
  it('follows no redirect from the collector: the export fails and the redirect target gets nothing', async () => {
    const [{ NodeTracerProvider, SimpleSpanProcessor, InMemorySpanExporter }, { OTLPTraceExporter }] =
      await Promise.all([import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/exporter-trace-otlp-http')]);
    const target = await startCollector();
    let asked = 0;
    const redirector = createServer((request, response) => {
      asked++;
      request.resume();
      request.on('end', () => response.writeHead(307, { location: `${target.base}/v1/traces` }).end());
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const memory = new InMemorySpanExporter();
      const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
      provider.getTracer('redirect-test').startSpan('one').end();
      const exporter = new OTLPTraceExporter({
        url: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/v1/traces`,
      });
      const result = await new Promise<{ code: number }>((resolve) =>
        exporter.export(memory.getFinishedSpans(), resolve),
      );
      await exporter.shutdown();
      expect(result.code).not.toBe(0); // ExportResultCode.SUCCESS
      expect(asked).toBe(1);
      expect(target.exports).toEqual([]);
    } finally {
      redirector.closeAllConnections();
      await new Promise((resolve) => redirector.close(resolve));
      await target.close();
    }
  });
});

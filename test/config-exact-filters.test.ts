import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { loadGatewayFile } from '../src/config/file';
import { stringifyExact } from '../src/json/exact-values';

// GATEWAY_CONFIG and `apply -f` read a destination's filter with its digits (JSON and YAML), and
// every other number as before: a tenant_context id stays the plain number JSON.parse gives (one
// no double holds is refused: test/source-inexact-numbers.test.ts).

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const dir = mkdtempSync(join(tmpdir(), 'exact-filters-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('filters in the config file keep their digits', () => {
  it.each([
    [
      'gateway.json',
      `{"sources": [{"name": "shop", "provider": "shopify", "secrets": ["s3cret"], "tenant_context": {"shop_id": 820982911946154},
         "destinations": [{"name": "inline", "url": "https://a.example.test/", "secret": "${SECRET}", "filter": {"body": {"id": 820982911946154508}}}]}],
        "destinations": [{"name": "top", "url": "https://b.example.test/", "secret": "${SECRET}", "sources": ["shop"],
         "filter": {"body": {"customer_id": {"$in": [1, 820982911946154510]}}}}]}`,
    ],
    [
      'gateway.yaml',
      `sources:
  - name: shop
    provider: shopify
    secrets: [s3cret]
    tenant_context: { shop_id: 820982911946154 }
    destinations:
      - { name: inline, url: "https://a.example.test/", secret: "${SECRET}", filter: { body: { id: 820982911946154508 } } }
destinations:
  - name: top
    url: https://b.example.test/
    secret: "${SECRET}"
    sources: [shop]
    timeout_ms: 5000
    filter: { body: { customer_id: { $in: [1, 820982911946154510] } } }
`,
    ],
  ])('%s', (name, text) => {
    const file = loadGatewayFile(write(name, text), {});
    const source = file.sources[0]!;
    expect(stringifyExact(source.processing.destinations[0]!.filter)).toBe('{"body":{"id":820982911946154508}}');
    expect(stringifyExact(file.destinations[0]!.filter)).toBe(
      '{"body":{"customer_id":{"$in":[1,820982911946154510]}}}',
    );
    expect(source.processing.tenantContext).toEqual({ shop_id: 820982911946154 });
    expect(isLosslessNumber(source.processing.tenantContext!.shop_id)).toBe(false);
    expect(typeof file.destinations[0]!.timeoutMs).toBe('number');
  });
});

describe('YAML decimal and exponent numbers in a filter keep their value', () => {
  it('reads 820982911946154508.0 and 8.20982911946154508e17 without rounding, YAML-only spellings as JSON numbers', () => {
    const file = loadGatewayFile(
      write(
        'floats.yaml',
        `destinations:
  - name: floats
    url: https://c.example.test/
    secret: "${SECRET}"
    timeout_ms: 5000.0
    filter: { body: { id: { $in: [820982911946154508.0, 8.20982911946154508e17, 82098291194615450.9E1] }, total: { $gte: .5 }, n: { $lte: +1.e3 } } }
`,
      ),
      {},
    );
    const destination = file.destinations[0]!;
    // The core schema's parseFloat gave 820982911946154500 for all three ids.
    expect(stringifyExact(destination.filter)).toBe(
      '{"body":{"id":{"$in":[820982911946154508.0,8.20982911946154508e17,82098291194615450.9E1]},"total":{"$gte":0.5},"n":{"$lte":1000}}}',
    );
    expect(destination.timeoutMs).toBe(5000);
  });
});

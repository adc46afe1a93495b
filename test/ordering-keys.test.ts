import { describe, expect, it } from 'vitest';
import { parseSourceEntry } from '../src/config/file';
import { parseJsonPath } from '../src/ordering/config';
import { orderingReader } from '../src/ordering/key';

// The ordering key as ingest reads it (docs/ordering.md): exact, bounded, scoped by source.
const body = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('ordering keys', () => {
  it('reads a JSON path exactly, numbers beyond 2^53 included, scoped by source', () => {
    const read = orderingReader('shop', {
      key: { jsonPath: '$.order.id' },
      onFailure: 'continue',
      missingKey: 'own_lane',
    });
    expect(read(body('{"order":{"id":820982911946154508123}}'), {})).toEqual({
      key: '820982911946154508123',
      lane: 'shop:820982911946154508123',
    });
    expect(read(body({ order: { id: 'A-1' } }), {})).toEqual({ key: 'A-1', lane: 'shop:A-1' });
    expect(read(body({ order: { id: true } }), {})?.key).toBe('true');
    const items = orderingReader('s', {
      key: { jsonPath: '$.items[1]["odd key"]' },
      onFailure: 'continue',
      missingKey: 'own_lane',
    });
    expect(items(body({ items: [{}, { 'odd key': 'x' }] }), {})?.key).toBe('x');
  });

  it('reads the key, exactly, from JSON that lossless-json does not read: nested too deep, a repeated key', () => {
    // Such bodies are JSON, so they have their key: read as "no key", their events left their lane.
    const read = orderingReader('shop', {
      key: { jsonPath: '$.order.id' },
      onFailure: 'continue',
      missingKey: 'own_lane',
    });
    const deep = `${'['.repeat(300)}${']'.repeat(300)}`;
    expect(read(body(`{"order":{"id":820982911946154508123},"deep":${deep}}`), {})?.key).toBe('820982911946154508123');
    expect(read(body('{"order":{"id":"A-1"},"x":1,"x":2}'), {})?.key).toBe('A-1');
  });

  it('puts an event without a key in its own lane or the no-key lane, as configured', () => {
    const own = orderingReader('s', { key: { jsonPath: '$.id' }, onFailure: 'continue', missingKey: 'own_lane' });
    const shared = orderingReader('s', { key: { jsonPath: '$.id' }, onFailure: 'continue', missingKey: 'no_key_lane' });
    for (const missing of [
      '{}',
      '{"id":null}',
      '{"id":{"a":1}}',
      '{"id":""}',
      'not json',
      '{"__proto__":{"id":"x"}}',
    ]) {
      expect(own(body(missing), {}), missing).toBeUndefined();
      expect(shared(body(missing), {}), missing).toEqual({ key: '', lane: 's:' });
    }
  });

  it('reads a header, and hashes keys longer than 200 bytes', () => {
    const read = orderingReader('s', { key: { header: 'x-order-id' }, onFailure: 'block', missingKey: 'own_lane' });
    expect(read(body('{}'), { 'x-order-id': ' 42 ' })?.key).toBe('42');
    expect(read(body('{}'), { 'x-order-id': 'é'.repeat(101) })?.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(read(body('{}'), { 'x-order-id': 'é'.repeat(100) })?.key).toBe('é'.repeat(100));
  });

  it('refuses unusable paths with the offset of the problem', () => {
    expect(() => parseJsonPath('id')).toThrow(/must start with \$/);
    expect(() => parseJsonPath('$.')).toThrow(/offset 1/);
    expect(() => parseJsonPath('$.a[*]')).toThrow(/offset 3/);
    expect(() => parseJsonPath('$')).toThrow(/whole body/);
    expect(parseJsonPath('$.a[2]["b.c"]')).toEqual(['a', 2, 'b.c']);
  });

  it('is read from a config-file source, and refused there with its field named', () => {
    const entry = { name: 'shop', provider: 'shopify', secrets: ['shpss_0123456789abcdef'] };
    const parsed = parseSourceEntry({ ...entry, ordering: { key: { header: 'X-Order-Id' }, onFailure: 'block' } }, {});
    expect(parsed.processing.ordering).toEqual({
      key: { header: 'x-order-id' },
      onFailure: 'block',
      missingKey: 'own_lane',
    });
    expect(parsed.options).not.toHaveProperty('ordering');
    expect(() => parseSourceEntry({ ...entry, ordering: { key: { jsonPath: '$.a', header: 'x' } } }, {})).toThrow(
      /ordering\.key/,
    );
  });
});

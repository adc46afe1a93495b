import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { PAGE_BYTES, rowsWithinBudget, streamExport } from '../src/ops/export';

// An export of large rows (event bodies of up to 1 MiB) reads only as many at a time as fit in
// PAGE_BYTES, asking their sizes first; small rows still come 100 to a page. The routes' use of it
// (and the store's bodySizes) is exercised end to end in roles-exports.test.ts.

type Row = { id: number; body: Buffer };

async function exportAll(rows: Row[]) {
  const read: number[] = []; // the bytes of each page of rows read
  const after = (beforeId: number | undefined) => rows.filter((r) => beforeId === undefined || r.id < beforeId);
  const app = new Hono().get('/x', (c) =>
    streamExport<Row>(c, {
      format: 'ndjson',
      name: 'rows',
      pageSize: 100,
      sizes: async (beforeId, limit) =>
        after(beforeId)
          .slice(0, limit)
          .map((r) => ({ bytes: r.body.length })),
      page: async (beforeId, limit) => {
        const page = after(beforeId).slice(0, limit);
        read.push(page.reduce((sum, r) => sum + r.body.length, 0));
        return page;
      },
      json: (r) => JSON.stringify({ id: r.id }),
      columns: ['id'],
      cells: (r) => [r.id],
    }),
  );
  const text = await (await app.request('/x')).text();
  const ids = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).id as number);
  return { ids, read };
}

/** `count` rows, newest (highest id) first, as the store's keyset pages give them. */
const rowsOf = (count: number, size: (id: number) => number): Row[] =>
  Array.from({ length: count }, (_, i) => count - i).map((id) => ({ id, body: Buffer.alloc(size(id)) }));

describe('export pages', () => {
  it('reads 1 MiB rows within PAGE_BYTES a page, every row once, newest first', async () => {
    const rows = rowsOf(60, () => 1024 * 1024);
    const { ids, read } = await exportAll(rows);
    expect(ids).toEqual(rows.map((r) => r.id));
    expect(Math.max(...read)).toBeLessThanOrEqual(PAGE_BYTES);
  });

  it('small rows come 100 to a page; large ones after them are read within the budget', async () => {
    const rows = rowsOf(2040, (id) => (id <= 40 ? 900_000 : 2048)); // the oldest 40 are large
    const { ids, read } = await exportAll(rows);
    expect(ids).toEqual(rows.map((r) => r.id));
    expect(read.slice(0, 20)).toEqual(Array(20).fill(100 * 2048));
    expect(Math.max(...read)).toBeLessThanOrEqual(PAGE_BYTES);
  });

  it('a row larger than the budget is still read, alone', async () => {
    expect(rowsWithinBudget([{ bytes: PAGE_BYTES + 1 }, { bytes: 10 }])).toBe(1);
    expect(rowsWithinBudget([{ bytes: PAGE_BYTES / 2 }, { bytes: PAGE_BYTES / 2 }, { bytes: 1 }])).toBe(2);
    expect(rowsWithinBudget([{ bytes: 10 }, { bytes: 10 }])).toBe(2);
  });
});

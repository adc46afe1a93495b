import type { Context } from 'hono';
import { stream } from 'hono/streaming';

/**
 * Streaming exports (NDJSON or CSV) with bounded memory: rows are read a keyset page at a time
 * (newest first, `id < last id`), and each line is written with `await`, so a slow client holds the
 * next page back (backpressure) instead of the gateway buffering the whole result.
 */
export interface ExportSpec<Row extends { id: number }> {
  format: 'ndjson' | 'csv';
  /** File name offered to the browser, without extension. */
  name: string;
  pageSize: number;
  /**
   * The byte sizes of the rows the next page would hold (`page`'s order and filter), when rows
   * are large (event bodies, up to MAX_BODY_BYTES): then each page reads only as many rows as fit
   * in PAGE_BYTES (at least one), not 100 bodies of up to 1 MiB at once (+90–140 MB of RSS per
   * export of 500 KB bodies, measured with fixed pages of 100).
   */
  sizes?(beforeId: number | undefined, limit: number): Promise<readonly { bytes: number }[]>;
  /** One page, newest first, ids below `beforeId` when given. */
  page(beforeId: number | undefined, limit: number): Promise<Row[]>;
  /** The row as one JSON text (no newline). */
  json(row: Row): string;
  columns: readonly string[];
  /** The row's cells, in `columns` order. */
  cells(row: Row): readonly CsvCell[];
  onError?(err: unknown): void;
}

export type CsvCell = string | number | boolean | null | undefined;

/** Cells a spreadsheet would run as a formula (CSV injection); also tab and CR, which some read as such. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell (RFC 4180): text that a spreadsheet would evaluate gets a leading apostrophe, and
 * anything with a quote, comma or line break is quoted with quotes doubled. Numbers stay numbers.
 */
export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * A body as a CSV cell carries it: text the formula guard above would prefix with `'` (`-0`, a
 * leading tab, `=…`) goes as base64 instead, so the cell decodes to the exact bytes. Base64 starts
 * with `+` only for a first byte 0xF8–0xFB (never UTF-8 text); that cell keeps the guard's `'`,
 * which is not a base64 character.
 */
export function csvBody<B extends { encoding: 'utf8' | 'base64'; data: string }>(body: B): B {
  if (body.encoding === 'base64' || !FORMULA_START.test(body.data)) return body;
  return { ...body, encoding: 'base64', data: Buffer.from(body.data, 'utf8').toString('base64') };
}

export const csvRow = (cells: readonly CsvCell[]) => `${cells.map(csvCell).join(',')}\r\n`;

/**
 * One NDJSON line of JSON text. A payload is embedded as sent, and a pretty-printed one holds line
 * breaks; in JSON text a raw CR or LF can only be whitespace between tokens (strings escape them),
 * so each becomes a space: the line reads as the same JSON value, and `body.data` keeps the bytes.
 */
export const ndjsonLine = (json: string) => `${/[\r\n]/.test(json) ? json.replace(/[\r\n]/g, ' ') : json}\n`;

/** What one page of rows with `sizes` may hold. */
export const PAGE_BYTES = 4 * 1024 * 1024;

/** How many of the rows, in order, fit in PAGE_BYTES: at least one, so a large row still goes. */
export function rowsWithinBudget(sizes: readonly { bytes: number }[]): number {
  let total = 0;
  for (let i = 0; i < sizes.length; i++) {
    total += sizes[i]!.bytes;
    if (total > PAGE_BYTES) return Math.max(1, i);
  }
  return sizes.length;
}

export function streamExport<Row extends { id: number }>(c: Context, spec: ExportSpec<Row>): Response {
  const csv = spec.format === 'csv';
  c.header('content-type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
  c.header('content-disposition', `attachment; filename="${spec.name}.${csv ? 'csv' : 'ndjson'}"`);
  c.header('cache-control', 'no-store');
  return stream(
    c,
    async (out) => {
      if (csv) await out.write(csvRow(spec.columns));
      let beforeId: number | undefined;
      while (!out.aborted) {
        let limit = spec.pageSize;
        if (spec.sizes) {
          const sizes = await spec.sizes(beforeId, spec.pageSize);
          if (sizes.length === 0) return;
          limit = rowsWithinBudget(sizes);
        }
        const rows = await spec.page(beforeId, limit);
        for (const row of rows) {
          if (out.aborted) return;
          await out.write(csv ? csvRow(spec.cells(row)) : ndjsonLine(spec.json(row)));
        }
        // With sizes, a short page is the budget's doing; the next sizes query says when it ends.
        if (rows.length === 0 || (!spec.sizes && rows.length < limit)) return;
        beforeId = rows[rows.length - 1]!.id;
      }
    },
    // The status line is sent by then: an NDJSON client gets a last line saying the export
    // stopped short (a CSV one sees the file end early); the log says why.
    async (err, out) => {
      spec.onError?.(err);
      if (!csv)
        await out.write(
          `${JSON.stringify({ error: { code: 'export_failed', message: 'The export stopped early; retry it' } })}\n`,
        );
    },
  );
}

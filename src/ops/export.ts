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

export const csvRow = (cells: readonly CsvCell[]) => `${cells.map(csvCell).join(',')}\r\n`;

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
        const rows = await spec.page(beforeId, spec.pageSize);
        for (const row of rows) {
          if (out.aborted) return;
          await out.write(csv ? csvRow(spec.cells(row)) : `${spec.json(row)}\n`);
        }
        if (rows.length < spec.pageSize) return;
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

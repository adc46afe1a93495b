import type { ComponentChildren } from 'preact';

/** One column: its header and how a row fills its cell. */
export interface Column<Row> {
  header: string;
  cell(row: Row): ComponentChildren;
  /** 'num' right-aligns figures; 'mono' for ids and machine text; 'error' for one-line errors; 'clip' cuts long text to one line; 'wrap' breaks long unspaced text (topics, ids, names) anywhere. */
  class?: 'num' | 'mono' | 'error' | 'clip' | 'url' | 'wrap' | 'mono wrap';
  /** The cell's tooltip (full text of a cut-off error, say). */
  title?(row: Row): string | undefined;
}

export interface TableProps<Row> {
  /** Said by screen readers and shown above the table; names the table for tests too. */
  caption: string;
  columns: Column<Row>[];
  rows: Row[];
  rowKey(row: Row, index: number): string | number;
  /** data- attributes per row (data-event-id, say), for tests and scripts that find a row. */
  rowProps?(row: Row): Record<`data-${string}`, string>;
  /** Shown instead of the table when there are no rows. */
  empty: ComponentChildren;
}

/**
 * The one table every list uses: caption, header cells, rows drawn by column definitions. It sits
 * in a box that scrolls sideways, so a table wider than the page scrolls inside the card instead
 * of pushing the page (and the navigation) sideways.
 */
export function Table<Row>({ caption, columns, rows, rowKey, rowProps, empty }: TableProps<Row>) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <div class="table-scroll">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column.header} class={column.class === 'num' ? 'num' : undefined}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={rowKey(row, index)} {...rowProps?.(row)}>
              {columns.map((column) => (
                <td key={column.header} class={column.class} title={column.title?.(row)}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

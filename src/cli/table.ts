import { terminalSafe } from './context';

/** Left-aligned columns separated by two spaces; every cell is made terminal-safe and cut to `max`. */
export function formatTable(header: string[], rows: string[][], max = 60): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => shorten(terminalSafe(cell), max)));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const shorten = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** `2026-11-23T10:15:00.123Z` → `2026-11-23 10:15:00` (UTC, as stored). */
export const shortTime = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-');

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SummaryRow } from './harness';

/** vitest globalSetup: gives the suite a summary file, and prints the table when it ends. */
export default function setup() {
  const file = join(tmpdir(), `webhook-gateway-reliability-${process.pid}.jsonl`);
  rmSync(file, { force: true });
  process.env.RELIABILITY_SUMMARY_FILE = file;
  return () => {
    if (!existsSync(file)) return;
    const rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SummaryRow);
    rmSync(file, { force: true });
    const header = ['scenario', 'faults', 'sent', 'acknowledged', 'stored', 'lost', 'duplicates', 'stuck'] as const;
    const cells = [header as readonly string[], ...rows.map((r) => header.map((h) => String(r[h])))];
    const widths = header.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
    const line = (c: readonly string[]) =>
      `| ${c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
    const out = [
      line(cells[0]!),
      `|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`,
      ...cells.slice(1).map(line),
    ];
    process.stdout.write(`\nReliability summary\n${out.join('\n')}\n`);
  };
}

import type { RetentionRun } from './retention';

export type { RetentionRun };

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');

/** Issue #13 §7: retention of a day of 1 M events takes seconds, not minutes: under one minute. */
export function retentionTarget(r: RetentionRun) {
  return {
    name: `retention of a day of ${f0(r.events)} events`,
    goal: '< 60 s (seconds, not minutes)',
    measured: `${f1(r.dropSec)} s (row delete ${f1(r.rowDeleteSec)} s, ${(r.rowDeleteSec / r.dropSec).toFixed(1)}× faster)`,
    met: r.dropSec < 60 && r.dropped.length >= 3,
  };
}

/** The table row: both measurements side by side. */
export function retentionRow(r: RetentionRun): string[] {
  return [
    `retention, a day of ${f0(r.events)} events`,
    'partition drop vs pre-0019 row delete (batches of 1,000)',
    `${f1(r.dropSec)} s vs ${f1(r.rowDeleteSec)} s` +
      (r.baselineEvents < r.events
        ? ` (row delete timed on ${f0(r.rowsDeleted)} rows, scaled to ${f0(r.events)})`
        : ` (${f0(r.rowsDeleted)} rows)`),
    '',
    '',
    '',
    `${(r.rowDeleteSec / r.dropSec).toFixed(1)}× faster; ${r.dropped.length} partitions (${f0(r.dayMb)} MB) dropped (generated in ${f0(r.generateSec)} s)`,
  ];
}

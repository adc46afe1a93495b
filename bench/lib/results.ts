import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IngestRun, SoakRun } from '../phases/ingest';
import type { FootprintRun } from '../phases/footprint';
import type { LatencyRun } from '../phases/latency';
import type { WorkerRun } from '../phases/worker';
import type { X12Run } from '../phases/x12';
import { ROOT } from './processes';

export interface BenchResults {
  startedAt: string;
  durationSec: number;
  machine: { cpus: number; node: string; postgres: string; loadAverageAtStart: number[] };
  loadTool: string;
  settings: Record<string, number | string>;
  ingest: IngestRun[];
  soak: SoakRun;
  /** Median round per system. */
  worker: WorkerRun[];
  workerRounds: WorkerRun[];
  latency: LatencyRun;
  footprint?: FootprintRun;
  x12: X12Run;
  targets: Target[];
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

/** The targets of the performance issue, judged on this run's numbers. */
export function judge(r: Omit<BenchResults, 'targets'>): Target[] {
  const cell = (server: string, connections: number) =>
    r.ingest.find((i) => i.server === server && i.connections === connections)!;
  const gw = cell('gateway', 50);
  const naive = cell('naive', 50);
  const ceiling = cell('hmac-only', 50);
  const worker = (system: string) => r.worker.find((w) => w.system === system)!.perSec;
  return [
    {
      name: 'ingest vs naive (50 conns)',
      goal: '≥ 2.5×',
      measured: ratio(gw.okPerSec, naive.okPerSec),
      met: gw.okPerSec >= 2.5 * naive.okPerSec,
    },
    {
      name: 'ingest vs HMAC-only ceiling (50 conns)',
      goal: '≥ 0.75×',
      measured: ratio(gw.okPerSec, ceiling.okPerSec),
      met: gw.okPerSec >= 0.75 * ceiling.okPerSec,
    },
    { name: 'ingest p99 ack latency (50 conns)', goal: '≤ 10 ms', measured: `${f1(gw.p99Ms)} ms`, met: gw.p99Ms <= 10 },
    {
      name: 'worker vs pg-boss',
      goal: '≥ 2×',
      measured: ratio(worker('gateway'), worker('pg-boss')),
      met: worker('gateway') >= 2 * worker('pg-boss'),
    },
    {
      name: 'worker vs graphile-worker',
      goal: '≥ 1×',
      measured: ratio(worker('gateway'), worker('graphile-worker')),
      met: worker('gateway') >= worker('graphile-worker'),
    },
    {
      // received_at → processed_at: the measure the ops API's /api/stats reports.
      name: 'receive→completed p50',
      goal: '≤ 10 ms',
      measured: `${f1(r.latency.dbP50Ms)} ms (db clock; client send→NOTIFY ${f1(r.latency.clientP50Ms)} ms)`,
      met: r.latency.dbP50Ms <= 10,
    },
    {
      name: 'X12 parse is linear (4× the file)',
      goal: '≤ 6× the time',
      measured: `${r.x12.growth4x.toFixed(1)}× (${f1(r.x12.mbPerSec)} MB/s; 150 KB digits ${f1(r.x12.digitsMs)} ms, 100k slashes ${f1(r.x12.slashesMs)} ms)`,
      met: r.x12.growth4x <= 6 && r.x12.digitsMs < 100 && r.x12.slashesMs < 100,
    },
    {
      name: `RSS under ${r.soak.durationSec.toFixed(0)} s sustained load`,
      goal: '≤ 200 MB, no growth',
      measured: `peak ${f0(r.soak.peakRssMb)} MB, trend ${r.soak.rssSlopeMbPerMin >= 0 ? '+' : ''}${f1(r.soak.rssSlopeMbPerMin)} MB/min`,
      met: r.soak.peakRssMb <= 200 && r.soak.rssSlopeMbPerMin <= 2,
    },
  ];
}

/** The one table the bench prints: every measurement of this run, then the targets. */
export function renderTable(r: BenchResults): string {
  const rows: string[][] = [];
  const naiveAt = (c: number) => r.ingest.find((i) => i.server === 'naive' && i.connections === c)!;
  const ceilingAt = (c: number) => r.ingest.find((i) => i.server === 'hmac-only' && i.connections === c)!;
  for (const run of r.ingest) {
    const vs =
      run.server === 'gateway'
        ? `${ratio(run.okPerSec, naiveAt(run.connections).okPerSec)} naive, ${ratio(run.okPerSec, ceilingAt(run.connections).okPerSec)} ceiling`
        : '';
    const label = {
      gateway: 'gateway (group commit)',
      naive: 'naive: 1 insert/request',
      'hmac-only': 'HMAC-only ceiling (stores nothing)',
    }[run.server];
    rows.push([
      `ingest, ${run.connections} conns`,
      label,
      `${f0(run.okPerSec)} acks/s`,
      f1(run.p50Ms),
      f1(run.p99Ms),
      f0(run.peakRssMb),
      vs,
    ]);
  }
  const s = r.soak;
  rows.push([
    `ingest, ${s.connections} conns, ${s.durationSec.toFixed(0)} s`,
    'gateway (sustained)',
    `${f0(s.okPerSec)} acks/s`,
    f1(s.p50Ms),
    f1(s.p99Ms),
    f0(s.peakRssMb),
    `RSS trend ${s.rssSlopeMbPerMin >= 0 ? '+' : ''}${f1(s.rssSlopeMbPerMin)} MB/min`,
  ]);
  const gw = r.worker.find((w) => w.system === 'gateway')!;
  for (const w of r.worker) {
    const vs = w.system === 'gateway' ? '' : `gateway ${ratio(gw.perSec, w.perSec)}`;
    const all = r.workerRounds.filter((x) => x.system === w.system).map((x) => f0(x.perSec));
    rows.push([
      `worker, ${f0(w.jobs)} no-op jobs`,
      w.system,
      `${f0(w.perSec)} events/s (median of ${all.join(', ')})`,
      '',
      '',
      '',
      vs,
    ]);
  }
  const l = r.latency;
  rows.push([
    `receive→completed, ${l.ratePerSec}/s`,
    'gateway, db clock',
    `${f0(l.events)} events`,
    f1(l.dbP50Ms),
    f1(l.dbP99Ms),
    '',
    '',
  ]);
  rows.push([
    `receive→completed, ${l.ratePerSec}/s`,
    'gateway, client send→NOTIFY',
    '',
    f1(l.clientP50Ms),
    f1(l.clientP99Ms),
    '',
    '',
  ]);
  for (const t of r.targets)
    rows.push(['target', t.name, t.goal, '', '', '', `${t.met ? 'met' : 'MISSED'}: ${t.measured}`]);

  const header = ['measurement', 'subject', 'result', 'p50 ms', 'p99 ms', 'peak RSS MB', 'comparison'];
  const table = [header, header.map(() => '---'), ...rows];
  return table.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Writes the run as JSON under bench/results/ (git-ignored): a timestamped file and latest.json. */
export function writeResults(r: BenchResults): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.startedAt.replace(/[:.]/g, '-')}.json`);
  const json = `${JSON.stringify(r, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  return file;
}

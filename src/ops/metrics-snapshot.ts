import { AggregatorRegistry, type Aggregator, type Registry } from 'prom-client';
import type { MetricRegistries } from './metrics';

type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];
type Labels = MetricJson['values'][number]['labels'];

/**
 * A metric as it crosses from one process to another. IPC is JSON, which has no NaN or Infinity
 * (an event-loop gauge before its first sample is NaN): those travel as strings.
 */
export interface WireMetric extends Omit<MetricJson, 'values' | 'collect'> {
  values: { value: number | string; labels: Labels; metricName?: string }[];
}

/**
 * One process's part of a scrape of the whole `start --web-processes` group. Process metrics get
 * a `process` label (web-0, web-1…, worker) so each process keeps its own series (summing two
 * processes' RSS or start times says nothing); the database gauges are read by the process that got
 * the scrape only, so a figure every process would read alike is not counted N times.
 */
export async function snapshotMetrics(
  registries: MetricRegistries,
  options: { process: string; withDatabase: boolean },
): Promise<WireMetric[]> {
  const [processMetrics, local, database] = await Promise.all([
    registries.process.getMetricsAsJSON(),
    registries.local.getMetricsAsJSON(),
    options.withDatabase ? registries.database.getMetricsAsJSON() : [],
  ]);
  return [
    // 'first': one series per process and label set, so nothing is combined (and the start time,
    // which prom-client omits from a cluster's aggregate, is kept per process).
    ...processMetrics.map((m) => toWire(m, { process: options.process }, 'first')),
    ...local.map((m) => toWire(m)),
    ...database.map((m) => toWire(m)),
  ];
}

/** A registry's metrics as they cross to another process, unlabelled (the primary's own: ../cluster/primary-metrics.ts). */
export async function snapshotRegistry(registry: Registry): Promise<WireMetric[]> {
  return (await registry.getMetricsAsJSON()).map((m) => toWire(m));
}

/**
 * The group's metrics in the Prometheus text format, combined as prom-client's AggregatorRegistry
 * combines a cluster's: by each metric's `aggregator` (counters and histograms summed, label set by
 * label set). Series appear in the order of the first snapshot's.
 */
export async function aggregateSnapshots(snapshots: readonly WireMetric[][]): Promise<string> {
  return AggregatorRegistry.aggregate(snapshots.map((s) => s.map(fromWire))).metrics();
}

function toWire(metric: MetricJson, label?: Record<string, string>, aggregator?: Aggregator): WireMetric {
  return {
    name: metric.name,
    help: metric.help,
    type: metric.type,
    aggregator: aggregator ?? metric.aggregator,
    values: metric.values.map((v) => ({
      ...v,
      value: Number.isFinite(v.value) ? v.value : String(v.value),
      labels: label ? { ...v.labels, ...label } : v.labels,
    })),
  };
}

function fromWire(metric: WireMetric) {
  // 'NaN', 'Infinity' and '-Infinity' are what String() made of them.
  return { ...metric, values: metric.values.map((v) => ({ ...v, value: Number(v.value) })) };
}

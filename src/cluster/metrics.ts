import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * `/metrics` under `start --web-processes N`. Each child counts in its own registry, and a scrape
 * lands on whichever web process the primary hands the connection to, while the worker process
 * serves no HTTP at all: a scrape saw one web process's counters (jumping between scrapes) and
 * none of the worker's. So a child's `/metrics` asks the primary, which gathers every child's
 * registry over IPC (prom-client's AggregatorRegistry) and answers the sum; gauges read from the
 * database say how they combine (`aggregator: 'max'` in src/ops/metrics.ts).
 */

interface MetricsRequest {
  gateway: 'metrics-request';
  id: number;
}
interface MetricsAnswer {
  gateway: 'metrics-answer';
  id: number;
  text?: string;
  error?: string;
}

/** How long a child waits for the primary's answer: prom-client gives up on a silent child after 5 s. */
const ANSWER_TIMEOUT_MS = 6_000;

/** Whether this process is a child of `start --web-processes` (its metrics are the cluster's). */
export const inCluster = (): boolean => cluster.isWorker;

/** In a child: lets the primary read `registry` when it gathers the cluster's metrics. */
export function shareRegistryWithPrimary(registry: Registry): void {
  if (!cluster.isWorker) return;
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's answering listener (its only way to do so).
  new AggregatorRegistry();
}

let nextId = 0;
const waiting = new Map<number, (answer: MetricsAnswer) => void>();
let listening = false;

/** In a child: the metrics of every process of the cluster, summed by the primary. */
export function clusterMetrics(): Promise<string> {
  if (!listening) {
    listening = true;
    process.on('message', (message: Partial<MetricsAnswer>) => {
      if (message?.gateway === 'metrics-answer' && typeof message.id === 'number') waiting.get(message.id)?.(message as MetricsAnswer);
    });
  }
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => settle({ gateway: 'metrics-answer', id, error: 'no answer from the primary process' }), ANSWER_TIMEOUT_MS);
    const settle = (answer: MetricsAnswer) => {
      clearTimeout(timer);
      waiting.delete(id);
      if (answer.text !== undefined) resolve(answer.text);
      else reject(new Error(answer.error ?? 'no metrics'));
    };
    waiting.set(id, settle);
    process.send?.({ gateway: 'metrics-request', id } satisfies MetricsRequest);
  });
}

/** In the primary: answers a child's metrics request with every child's metrics, aggregated. */
export function answerMetricsRequests(): (child: Worker, message: unknown) => boolean {
  const aggregator = new AggregatorRegistry();
  return (child, message) => {
    const request = message as Partial<MetricsRequest>;
    if (request?.gateway !== 'metrics-request' || typeof request.id !== 'number') return false;
    const id = request.id;
    const reply = (answer: Omit<MetricsAnswer, 'gateway' | 'id'>) => {
      if (child.isConnected()) child.send({ gateway: 'metrics-answer', id, ...answer } satisfies MetricsAnswer);
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: Error) => reply({ error: err.message }),
    );
    return true;
  };
}

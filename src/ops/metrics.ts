import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The content type of a /metrics answer (Prometheus text format 0.0.4). */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * A gateway's metrics in three registries, by how the processes of `start --web-processes`
 * combine them (src/ops/metrics-snapshot.ts): `process` (RSS, CPU, heap, event loop: one series per
 * process, labelled), `local` (what this process counted: summed over the processes) and `database`
 * (gauges read from the database every process shares: read once, by the process that got the scrape).
 */
export interface MetricRegistries {
  process: Registry;
  local: Registry;
  database: Registry;
}

/**
 * Prometheus metrics (prom-client). Registries of its own per gateway, so several gateways in one
 * process (tests, embedding) never share counters. Labels are bounded: configured source names,
 * outcomes and error codes only.
 */
export function createMetrics(
  options: {
    queueDepth?: () => Promise<{ due: number; processing: number; oldestSeconds: number }>;
    /** Destinations' circuit states (src/deliver/protection-sql.ts), read at each scrape. */
    circuits?: () => Promise<{ name: string; state: 'closed' | 'open' | 'half_open' }[]>;
  } = {},
) {
  const registries: MetricRegistries = { process: new Registry(), local: new Registry(), database: new Registry() };
  collectDefaultMetrics({ register: registries.process, prefix: 'webhook_gateway_' });
  const local = registries.local;

  const requests = new Counter({
    name: 'webhook_gateway_requests_total',
    help: 'Ingest requests by source and outcome (accepted, duplicate, conflict, rejected) and rejection reason',
    labelNames: ['source', 'outcome', 'reason'] as const,
    registers: [local],
  });
  const conflicts = new Counter({
    name: 'webhook_gateway_conflicts_total',
    help: 'Deliveries with the id of a stored event but other bytes (kept in event_conflicts, see GET /api/conflicts)',
    labelNames: ['source'] as const,
    registers: [local],
  });
  const ingestDuration = new Histogram({
    name: 'webhook_gateway_ingest_duration_seconds',
    help: 'Time from request to acknowledgement (including the commit) for requests not rejected',
    labelNames: ['source'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [local],
  });
  const attempts = new Counter({
    name: 'webhook_gateway_processing_attempts_total',
    help: 'Processing attempts by source and outcome (completed, retry, failed; held: waiting for a paused destination, not counted as an attempt)',
    labelNames: ['source', 'outcome'] as const,
    registers: [local],
  });
  const processingDuration = new Histogram({
    name: 'webhook_gateway_processing_duration_seconds',
    help: 'Handler run time per attempt',
    labelNames: ['source'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [local],
  });
  const retries = new Counter({
    name: 'webhook_gateway_retries_scheduled_total',
    help: 'Attempts that failed and were scheduled for a retry',
    labelNames: ['source'] as const,
    registers: [local],
  });
  const leaseRecoveries = new Counter({
    name: 'webhook_gateway_lease_recoveries_total',
    help: 'Claims taken back from workers that stopped extending their lease',
    registers: [local],
  });
  const droppedConnections = new Counter({
    name: 'webhook_gateway_connections_dropped_total',
    help: 'Connections closed on arrival because MAX_CONNECTIONS were already open',
    registers: [local],
  });
  const refusedRequests = new Counter({
    name: 'webhook_gateway_http_refused_total',
    help: 'Requests answered before the app saw them (malformed HTTP, headers too large, timed out, bad Host or path), by the error code they got',
    labelNames: ['code'] as const,
    registers: [local],
  });
  const streamCutOffs = new Counter({
    name: 'webhook_gateway_stream_clients_cut_off_total',
    help: 'Live-stream clients disconnected for reading too slowly (their buffer reached its bound)',
    labelNames: ['transport'],
    registers: [local],
  });
  const rejectionsNotRecorded = new Counter({
    name: 'webhook_gateway_rejected_requests_not_recorded_total',
    help: 'Rejected requests left out of the rejected-request log: buffer full (dropped) or batch write failed (write_failed)',
    labelNames: ['reason'] as const,
    registers: [local],
  });
  const alertNotifications = new Counter({
    name: 'webhook_gateway_alert_notifications_total',
    help: 'Alert notices sent, by channel type and outcome (sent, failed)',
    labelNames: ['channel_type', 'outcome'] as const,
    registers: [local],
  });
  // The ingest body budget (src/ingest/body-budget.ts), read at each scrape; set once ingest starts.
  let bodyBudget: { held(): number; waiting(): number; readonly totalBytes: number } | undefined;
  new Gauge({
    name: 'webhook_gateway_ingest_body_bytes_held',
    help: 'Ingest request body bytes held in memory now (read, being read or waiting for their commit), out of INGEST_BODY_BUDGET_BYTES; a request that does not fit is refused with 503 ingest_busy (webhook_gateway_requests_total{reason="ingest_busy"}); under --web-processes, the sum over the web processes',
    registers: [local],
    collect() {
      this.set(bodyBudget?.held() ?? 0);
    },
  });
  new Gauge({
    name: 'webhook_gateway_ingest_body_waiting',
    help: 'Ingest requests waiting now for room in INGEST_BODY_BUDGET_BYTES before their body is read (at most INGEST_BODY_WAIT_QUEUE per web process, each for at most INGEST_BODY_WAIT_MS); under --web-processes, the sum over the web processes',
    registers: [local],
    collect() {
      this.set(bodyBudget?.waiting() ?? 0);
    },
  });
  new Gauge({
    name: 'webhook_gateway_ingest_body_budget_bytes',
    help: 'INGEST_BODY_BUDGET_BYTES: the most ingest body bytes held in memory at once (per web process; under --web-processes, the sum over the web processes)',
    registers: [local],
    collect() {
      this.set(bodyBudget?.totalBytes ?? 0);
    },
  });

  // Read from the database every process shares: 'max', not the default sum, should a scrape ever
  // combine two processes' readings (it reads them in one process only).
  if (options.queueDepth) {
    const queueDepth = options.queueDepth;
    let last: ReturnType<typeof queueDepth> | undefined;
    // The three gauges come from one query per scrape.
    const depth = () => (last ??= queueDepth().finally(() => setTimeout(() => (last = undefined), 100)));
    new Gauge({
      name: 'webhook_gateway_queue_depth',
      help: 'Events due for processing now (not yet claimed)',
      registers: [registries.database],
      aggregator: 'max',
      async collect() {
        this.set((await depth()).due);
      },
    });
    new Gauge({
      name: 'webhook_gateway_queue_processing',
      help: 'Events claimed by a worker now (status processing: their attempt is running)',
      registers: [registries.database],
      aggregator: 'max',
      async collect() {
        this.set((await depth()).processing);
      },
    });
    new Gauge({
      name: 'webhook_gateway_oldest_due_age_seconds',
      help: 'How long the oldest due event has been waiting',
      registers: [registries.database],
      aggregator: 'max',
      async collect() {
        this.set((await depth()).oldestSeconds);
      },
    });
  }

  if (options.circuits) {
    const circuits = options.circuits;
    const value = { closed: 0, half_open: 1, open: 2 } as const;
    new Gauge({
      name: 'webhook_gateway_destination_circuit_state',
      help: 'Circuit breaker of each destination that has failed: 0 closed, 1 half-open (probing), 2 open (deliveries held)',
      labelNames: ['destination'] as const,
      registers: [registries.database],
      aggregator: 'max',
      async collect() {
        this.reset();
        for (const c of await circuits()) this.set({ destination: c.name }, value[c.state]);
      },
    });
  }

  // In the order of the single-process /metrics answer before the split.
  const all = Registry.merge([registries.process, registries.local, registries.database]);

  return {
    registries,
    /** This process's metrics in the Prometheus text format. */
    scrapeProcess: () => all.metrics(),
    ingest(
      source: string,
      outcome: 'accepted' | 'duplicate' | 'conflict' | 'rejected',
      reason: string,
      seconds: number,
    ) {
      requests.inc({ source, outcome, reason });
      if (outcome === 'conflict') conflicts.inc({ source });
      if (outcome !== 'rejected') ingestDuration.observe({ source }, seconds);
    },
    attempt(source: string, outcome: 'completed' | 'retry' | 'failed' | 'held', seconds: number) {
      attempts.inc({ source, outcome });
      processingDuration.observe({ source }, seconds);
      if (outcome === 'retry') retries.inc({ source });
    },
    /** Reports the ingest body budget's use at each scrape from now on. */
    watchIngestBodyBudget(budget: { held(): number; waiting(): number; readonly totalBytes: number }) {
      bodyBudget = budget;
    },
    leaseRecovered(count: number) {
      leaseRecoveries.inc(count);
    },
    connectionDropped() {
      droppedConnections.inc();
    },
    /** `code` is one of the fixed answers of src/http/client-error.ts and refused-request.ts. */
    httpRefused(code: string) {
      refusedRequests.inc({ code });
    },
    streamClientCutOff(transport: 'sse' | 'websocket') {
      streamCutOffs.inc({ transport });
    },
    rejectionNotRecorded(reason: 'dropped' | 'write_failed', count = 1) {
      rejectionsNotRecorded.inc({ reason }, count);
    },
    alertNotification(channelType: string, outcome: 'sent' | 'failed') {
      alertNotifications.inc({ channel_type: channelType, outcome });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

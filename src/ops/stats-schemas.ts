import { z } from '@hono/zod-openapi';
import { filterText, timestamp } from './schema-fields';

// The dashboard's figures for a window, and its per-minute series.

export const Stats = z
  .object({
    window: z.object({ since: timestamp }),
    by_status: z.record(z.string(), z.number()),
    by_source: z.record(z.string(), z.record(z.string(), z.number())),
    success_rate: z.number().nullable(),
    latency_ms: z.object({ p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() }),
    retries: z.object({ events_retried: z.number(), extra_attempts: z.number() }),
    queue: z.object({
      due: z.number(),
      scheduled_retries: z.number(),
      waiting_in_order: z
        .number()
        .openapi({ description: 'Events of ordered sources waiting behind the head of their key' }),
      processing: z.number(),
      oldest_due_age_seconds: z.number().nullable(),
    }),
  })
  .openapi('Stats');

const perMinute = (description: string) => z.array(z.number()).openapi({ description });
const perMinuteOrNull = (description: string) => z.array(z.number().nullable()).openapi({ description });

export const StatsSeriesQuery = z.object({
  window: z
    .enum(['1h', '6h', '24h'])
    .default('1h')
    .openapi({ description: 'How far back, ending with the current minute' }),
  source: filterText(200).optional().openapi({ description: 'Only this source; all sources when absent' }),
});

export const StatsSeries = z
  .object({
    window: z.enum(['1h', '6h', '24h']),
    source: z.string().nullable(),
    step_seconds: z.number().int(),
    sources: z.array(z.string()).openapi({ description: 'Sources with counts in the window' }),
    series: z.object({
      t: perMinute('Start of each minute, Unix seconds, oldest first'),
      received: perMinute('Requests accepted and stored'),
      completed: perMinute('Events completed'),
      failed: perMinute('Events failed for good'),
      rejected: perMinute('Requests refused (bad signature, too large, rate limited, …)'),
      latency_p50_ms: perMinuteOrNull('Median receive→completed latency of the events completed that minute'),
      latency_p99_ms: perMinuteOrNull('99th percentile of the same'),
      backlog: perMinuteOrNull('Due events waiting (largest sample that minute); null when not sampled'),
    }),
  })
  .openapi('StatsSeries');

import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { AlertRuleKind } from './config';
import { dueQueueRows } from '../store/queue-parking';

/** A rule's condition holding right now for one key (a source, a destination, the backlog). */
export interface Condition {
  key: string;
  summary: string;
}

/** Rejection codes that mean "the signature or credential did not verify" (see providers/signature.ts). */
export const SIGNATURE_CAUSES = [
  'invalid_signature',
  'missing_signature',
  'invalid_timestamp',
  'invalid_credentials',
  'secrets_expired',
];

type Params = Record<string, unknown>;
const text = (p: Params, key: string) => (typeof p[key] === 'string' ? (p[key] as string) : undefined);
const num = (p: Params, key: string) => Number(p[key]);
const sourceFilter = (source: string | undefined) => (source === undefined ? sql`` : sql`and source = ${source}`);

/**
 * One query per rule kind, each answering "for which keys does the condition hold now?". Every
 * query reads a bounded, indexed slice (the last minutes of failures, rejections or attempts; the
 * hot queue's due rows; the latest poll run per source), so evaluating every few seconds stays
 * cheap whatever the history holds. Times are the database's now().
 */
export function createConditionQueries({
  rows,
}: Database): Record<AlertRuleKind, (params: Params) => Promise<Condition[]>> {
  return {
    async event_failed(p) {
      const window = num(p, 'window_minutes');
      const found = await rows<{ source: string; n: number }>(sql`
        select source, count(*)::int as n from webhook_events
        where status = 'failed' and processed_at > now() - make_interval(mins => ${window}) ${sourceFilter(text(p, 'source'))}
        group by source order by source`);
      return found.map((r) => ({
        key: r.source,
        summary: `${r.n} event(s) of source ${r.source} failed for good in the last ${window} min`,
      }));
    },

    async destination_failing(p) {
      const minutes = num(p, 'minutes');
      // Per destination: the first failure after its last success, looking back at most a day.
      const found = await rows<{ destination: string; failing_minutes: number }>(sql`
        with recent as (
          select destination, outcome, started_at from delivery_attempts
          where started_at > now() - interval '1 day' - make_interval(mins => ${minutes})
        ), last_ok as (
          select destination, max(started_at) filter (where outcome = 'delivered') as at from recent group by destination
        ), failing as (
          select r.destination, min(r.started_at) as since
          from recent r join last_ok o using (destination)
          where r.outcome = 'failed' and r.started_at > coalesce(o.at, '-infinity')
          group by r.destination
        )
        select destination, floor(extract(epoch from now() - since) / 60)::int as failing_minutes from failing
        where since <= now() - make_interval(mins => ${minutes})
        order by destination`);
      return found.map((r) => ({
        key: r.destination,
        summary: `Destination ${r.destination} has failed every delivery for ${r.failing_minutes} min (threshold ${minutes} min)`,
      }));
    },

    async backlog_age(p) {
      const limit = num(p, 'older_than_seconds');
      const source = text(p, 'source');
      // The hot queue's unclaimed, due rows (not the archive's status index, which spans every day
      // of history), with the source each carries.
      const [found] = await rows<{ age: number | null; due: number }>(sql`
        select floor(extract(epoch from now() - min(run_at)))::int as age, count(*)::int as due
        from ${dueQueueRows} ${source === undefined ? sql`` : sql`where source = ${source}`}`);
      if (!found || found.age === null || found.age <= limit) return [];
      const what = source ? `of source ${source}` : 'in the backlog';
      return [
        {
          key: source ?? '*',
          summary: `The oldest due event ${what} has waited ${found.age} s (threshold ${limit} s; ${found.due} due)`,
        },
      ];
    },

    async signature_failures(p) {
      const minutes = num(p, 'minutes');
      const count = num(p, 'count');
      // Aggregate rows (beyond the per-minute cap) carry their minute's start and their count.
      const found = await rows<{ source: string; n: number }>(sql`
        select source, sum(repeat_count)::int as n from rejected_requests
        where received_at > now() - make_interval(mins => ${minutes})
          and cause in (select jsonb_array_elements_text(${JSON.stringify(SIGNATURE_CAUSES)}::jsonb))
          ${sourceFilter(text(p, 'source'))}
        group by source having sum(repeat_count) >= ${count} order by source`);
      return found.map((r) => ({
        key: r.source,
        summary: `${r.n} requests to source ${r.source} failed verification in the last ${minutes} min (threshold ${count}): was a secret rotated on one side only?`,
      }));
    },

    async destination_circuit_open(p) {
      const name = text(p, 'destination');
      const only = name === undefined ? sql`` : sql`and name = ${name}`;
      // Both tables are a row per destination: small, read whole.
      const found = await rows<{ name: string; state: string; opened_at: Date | string | null; gone: boolean }>(sql`
        select name, state, opened_at, gone_at is not null as gone from destination_health
        where (state <> 'closed' or gone_at is not null) ${only}
        union all
        select name, 'paused', null, true from destinations
        where paused and paused_reason like 'gone%' ${only}
          and name not in (select name from destination_health where state <> 'closed' or gone_at is not null)
        order by name`);
      return found.map((r) => ({
        key: r.name,
        summary: r.gone
          ? `Destination ${r.name} answered 410 Gone and is held (paused); fix or remove it, then resume it`
          : `The circuit of destination ${r.name} is ${r.state.replace('_', '-')} since ${r.opened_at ? new Date(r.opened_at).toISOString() : 'now'}: its deliveries are held until a probe succeeds`,
      }));
    },

    async poll_failing(p) {
      const found = await rows<{ source: string; finished_at: Date | string }>(sql`
        select source, finished_at from (
          select distinct on (source) source, status, finished_at from poll_runs
          where status <> 'running' ${sourceFilter(text(p, 'source'))}
          order by source, id desc
        ) latest where status = 'failed' order by source`);
      return found.map((r) => ({
        key: r.source,
        summary: `The latest poll run of ${r.source} failed (finished ${new Date(r.finished_at).toISOString()}); see GET /api/sps/runs?source=${r.source}`,
      }));
    },
  };
}

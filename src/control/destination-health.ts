import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';

// The health of destinations as the API shows it: delivery counts, held events, the circuit
// breaker's state (migrations/0016) and the last deliveries. Read-only.

type Raw = Record<string, unknown>;
const toDate = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

/** Per destination: deliveries recorded and the events waiting for it to resume. */
export interface DestinationHealth {
  /** Deliveries acknowledged, and failed, in the last 24 hours. */
  delivered: number;
  failed: number;
  held: number;
  /** Its circuit breaker (migrations/0016); no row: closed, no failures. */
  circuit: {
    state: 'closed' | 'open' | 'half_open';
    consecutiveFailures: number;
    openedAt: Date | null;
    goneAt: Date | null;
  };
  last: {
    eventId: number;
    attempt: number;
    at: Date;
    outcome: string;
    httpStatus: number | null;
    error: string | null;
    ruleVersion: number | null;
  }[];
}

/**
 * One query per kind of fact, each bounded to the named destinations and by an index, not by how
 * many days of deliveries are kept: the last 24 hours' counts and the last N deliveries of each
 * (delivery_attempts_destination_idx, migration 0026). Counting every day kept and ranking every
 * delivery took 4.1-6.9 s with 3 M delivery attempts.
 */
export async function readHealth(
  rows: Database['rows'],
  names: readonly string[],
  lastPerDestination: number,
): Promise<Map<string, DestinationHealth>> {
  const health = new Map<string, DestinationHealth>(
    names.map((n) => [
      n,
      {
        delivered: 0,
        failed: 0,
        held: 0,
        circuit: { state: 'closed', consecutiveFailures: 0, openedAt: null, goneAt: null },
        last: [],
      },
    ]),
  );
  if (names.length === 0) return health;
  const list = JSON.stringify(names);
  const [counts, held, last, circuits] = await Promise.all([
    rows<Raw>(sql`select destination, outcome, count(*) as n from delivery_attempts
      where destination in (select json_array_elements_text(${list}::text::json))
        and started_at > now() - interval '24 hours'
      group by destination, outcome`),
    rows<Raw>(sql`select h.name, count(*) as n from event_queue q
      cross join lateral jsonb_array_elements_text(q.held_for) as h(name) where q.held_for is not null group by h.name`),
    rows<Raw>(sql`select d.name as destination, a.* from json_array_elements_text(${list}::text::json) as d(name)
      cross join lateral (
        select id, event_id, attempt, started_at, outcome, http_status, error, rule_version from delivery_attempts
        where destination = d.name order by started_at desc, id desc limit ${lastPerDestination}) a
      order by d.name, a.started_at desc, a.id desc`),
    rows<Raw>(sql`select * from destination_health
      where name in (select json_array_elements_text(${list}::text::json))`),
  ]);
  for (const r of circuits) {
    const h = health.get(String(r.name));
    if (h)
      h.circuit = {
        state: String(r.state) as DestinationHealth['circuit']['state'],
        consecutiveFailures: Number(r.consecutive_failures),
        openedAt: r.opened_at == null ? null : toDate(r.opened_at),
        goneAt: r.gone_at == null ? null : toDate(r.gone_at),
      };
  }
  for (const r of counts) {
    const h = health.get(String(r.destination));
    if (h && r.outcome === 'delivered') h.delivered = Number(r.n);
    else if (h && r.outcome === 'failed') h.failed = Number(r.n);
  }
  for (const r of held) {
    const h = health.get(String(r.name));
    if (h) h.held = Number(r.n);
  }
  for (const r of last) {
    health.get(String(r.destination))?.last.push({
      eventId: Number(r.event_id),
      attempt: Number(r.attempt),
      at: toDate(r.started_at),
      outcome: String(r.outcome),
      httpStatus: r.http_status == null ? null : Number(r.http_status),
      error: r.error == null ? null : String(r.error),
      ruleVersion: r.rule_version == null ? null : Number(r.rule_version),
    });
  }
  return health;
}

#!/usr/bin/env bash
# Shared buffers touched by the worker's statements, before and after the hot queue (migration 0007),
# on a database with HISTORY completed events (default 1,000,000) and CYCLES × 50 events processed
# since the last vacuum (autovacuum off, as on the bench server). Buffer counts do not depend on
# how loaded the machine is, unlike timings. Usage: bench/sql/tick-cost.sh [postgres-url]
# See docs/adr/0007-hot-queue-table.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVER=${1:-postgres://postgres@127.0.0.1:5432/postgres}
HISTORY=${HISTORY:-1000000}
CYCLES=${CYCLES:-400}
DB=gw_ticks_$RANDOM$RANDOM
psql -qAt "$SERVER" -c "create database $DB"
URL=${SERVER%/*}/$DB
trap 'psql -qAt "$SERVER" -c "drop database if exists $DB with (force)" >/dev/null' EXIT
q() { psql -qAt -v ON_ERROR_STOP=1 "$URL" "$@"; }
# Top-node "Buffers:" line of EXPLAIN (ANALYZE, BUFFERS), which includes every child node and CTE
# (planning's catalog reads are not counted; "none" when execution touched no shared buffer).
buffers() { printf '%s\n' "$OUTCOMES" "explain (analyze, buffers, costs off, timing off) $1;" | q |
  awk '/^Planning/ { exit } /Buffers:/ { sub(/^ */, ""); print; found = 1; exit } END { if (!found) print "Buffers: none" }'; }

for f in migrations/000[0-5]_*.sql; do q -f "$f" >/dev/null; done
q -c "set session_replication_role = replica;
  with e as (
    insert into webhook_events (source, webhook_id, topic, status, body, attempts, received_at, processed_at)
    select 'shopify', 'h-' || n, 'orders/create', 'completed', convert_to(repeat('x', 1500), 'UTF8'), 1, now(), now()
    from generate_series(1, $HISTORY) n returning id)
  insert into processing_log (event_id, attempt, worker, finished_at, outcome)
  select id, 1, 'history', now(), 'completed' from e" >/dev/null
q -c "select count(*) from webhook_events" -c "select count(*) from processing_log" -c checkpoint >/dev/null

OLD_CLAIM="with due as (select id from webhook_events where status = 'received' and next_attempt_at <= now()
    order by next_attempt_at, id limit 50 for update skip locked),
  claimed as (update webhook_events e set status = 'processing', locked_by = 'w', locked_at = now(),
    claim_token = gen_random_uuid(), attempts = e.attempts + 1 from due where e.id = due.id returning e.id, e.attempts),
  logged as (insert into processing_log (event_id, attempt, worker) select id, attempts, 'w' from claimed returning id, event_id)
  select count(*) from claimed join logged on logged.event_id = claimed.id"
OUTCOMES="select coalesce(json_agg(json_build_object('id', e.id, 'claim_token', e.claim_token, 'attempt_id', p.id,
    'status', 'completed', 'outcome', 'completed')), '[]') as outcomes
  from webhook_events e join processing_log p on p.event_id = e.id and p.outcome = 'running'
  where e.status = 'processing' and e.locked_by = 'w' \\gset"
O="o as (select * from json_to_recordset(:'outcomes'::text::json) as o(id bigint, claim_token uuid, attempt_id bigint,
    status text, outcome text, error text, retry_in_ms bigint))"
# The outcome statements of src/worker/queue-sql.ts before and after 0007 (completions only).
OLD_FINISH="with $O,
  finished as (update webhook_events e set status = o.status, last_error = o.error, processed_at = now(),
    locked_by = null, locked_at = null, claim_token = null from o
    where e.id = o.id and e.claim_token = o.claim_token and e.status = 'processing' returning e.id)
  update processing_log p set finished_at = now(), outcome = o.outcome, error = o.error
  from o join finished f on f.id = o.id where p.id = o.attempt_id"
OLD_RECOVER="with expired as (update webhook_events set status = 'received', next_attempt_at = now(), locked_by = null,
    locked_at = null, claim_token = null where status = 'processing' and locked_at < now() - interval '60 seconds' returning id),
  abandoned as (update processing_log set finished_at = now(), outcome = 'abandoned'
    where outcome = 'running' and event_id in (select id from expired))
  select count(*) from expired"
NEW_CLAIM="with due as (select event_id from event_queue where claim_token is null and run_at <= now()
    order by run_at, event_id limit 50 for update skip locked),
  claimed as (update webhook_events e set status = 'processing', locked_by = 'w', locked_at = now(),
    claim_token = gen_random_uuid(), attempts = e.attempts + 1 from due where e.id = due.event_id
    returning e.id, e.attempts, e.claim_token),
  logged as (insert into processing_log (event_id, attempt, worker) select id, attempts, 'w' from claimed returning id, event_id),
  leased as (update event_queue q set locked_by = 'w', locked_at = now(), claim_token = c.claim_token, attempt_id = l.id
    from claimed c join logged l on l.event_id = c.id where q.event_id = c.id)
  select count(*) from claimed"
NEW_FINISH="with $O,
  finished as (update webhook_events e set status = o.status, last_error = o.error, processed_at = now(),
    locked_by = null, locked_at = null, claim_token = null from o
    where e.id = o.id and e.claim_token = o.claim_token returning e.id, e.status),
  dequeued as (delete from event_queue q using finished f where q.event_id = f.id and f.status <> 'received')
  update processing_log p set finished_at = now(), outcome = o.outcome, error = o.error
  from o join finished f on f.id = o.id where p.id = o.attempt_id"
NEW_RECOVER="with expired as (select event_id, claim_token, attempt_id from event_queue
    where claim_token is not null and locked_at < now() - interval '60 seconds' for update skip locked),
  recovered as (update webhook_events e set status = 'received', locked_by = null, locked_at = null, claim_token = null
    from expired x where e.id = x.event_id and e.claim_token = x.claim_token returning e.id),
  requeued as (update event_queue q set run_at = now(), locked_by = null, locked_at = null, claim_token = null
    from recovered r where q.event_id = r.id),
  abandoned as (update processing_log p set finished_at = now(), outcome = 'abandoned'
    from expired x join recovered r on r.id = x.event_id where p.id = x.attempt_id)
  select count(*) from recovered"

# $1 label, $2 insert statement for 50 new due events, $3 claim, $4 finish, $5 recover
measure() {
  for ((i = 0; i < CYCLES; i++)); do printf '%s\n' "$2;" "$3;" "$OUTCOMES" "$4;"; done | q >/dev/null
  echo "$1, idle tick (nothing expired, nothing due):"
  echo "  recover: $(buffers "$5")"
  echo "  claim:   $(buffers "$3")"
  q -c "$2" >/dev/null
  echo "$1, 50 due events:"
  echo "  claim:   $(buffers "$3")"
  echo "  finish:  $(buffers "$4")"
}
OLD_INSERT="insert into webhook_events (source, webhook_id, topic, body) select 'shopify', gen_random_uuid()::text, 't', '\\x7b7d' from generate_series(1, 50)"
measure "before ($HISTORY history, $((CYCLES * 50)) processed since vacuum)" "$OLD_INSERT" "$OLD_CLAIM" "$OLD_FINISH" "$OLD_RECOVER"
q -f migrations/0007_event_queue.sql >/dev/null
NEW_INSERT="with e as ($OLD_INSERT returning id) insert into event_queue (event_id) select id from e"
measure "after 0007 (same database, $((CYCLES * 50)) more processed, queue not vacuumed)" "$NEW_INSERT" "$NEW_CLAIM" "$NEW_FINISH" "$NEW_RECOVER"
q -c "vacuum (analyze) event_queue" >/dev/null
echo "after 0007, queue vacuumed (what the worker does every 15 s):"
echo "  recover: $(buffers "$NEW_RECOVER")"
echo "  claim:   $(buffers "$NEW_CLAIM")"

-- Per-key ordering (docs/ordering.md, issue #16 §5). A source can name an ordering key; its events
-- are processed one at a time per key ("lane"), in the order the gateway stored them.
-- webhook_events.ordering_key is the key as the ops views show it; the queue row carries the lane
-- (`<source>:<key>`, source names cannot contain ':') and its place in it.
ALTER TABLE "webhook_events" ADD COLUMN "ordering_key" text;--> statement-breakpoint
-- A lane's rows: exactly one (the lowest lane_pos) is its head and has a real run_at; the others
-- wait at run_at = 'infinity', where the claim's run_at index scan never reaches them, so the claim
-- statement and its plan are the same as for unordered events. lane_pos is the event id at ingest
-- (receive order) and a fresh value of the same sequence on a replay (the end of the lane).
-- blocked_at: the head failed for good and its source's ordering says onFailure 'block'.
ALTER TABLE "event_queue" ADD COLUMN "ordering_key" text;--> statement-breakpoint
ALTER TABLE "event_queue" ADD COLUMN "lane_pos" bigint;--> statement-breakpoint
ALTER TABLE "event_queue" ADD COLUMN "blocked_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "event_queue_lane_idx" ON "event_queue" USING btree ("ordering_key","lane_pos") WHERE "ordering_key" IS NOT NULL;--> statement-breakpoint
-- Serialises every change to these lanes for the rest of the transaction. Taken in sorted order,
-- so two transactions locking several lanes cannot deadlock; 20170 namespaces the advisory locks.
CREATE FUNCTION event_queue_lock_lanes(lanes text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  lane text;
BEGIN
  FOR lane IN SELECT DISTINCT l FROM unnest(lanes) AS l WHERE l IS NOT NULL ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(20170, hashtext(lane));
  END LOOP;
END;
$$;
--> statement-breakpoint
-- Makes each lane's head due when it is waiting (its predecessor completed, failed with onFailure
-- 'continue', was skipped; or it is a replayed event at the end of an empty lane). Called after the
-- change, in its transaction. The lock comes first, and each query of a volatile plpgsql function
-- takes a new snapshot: so the head lookup sees every row committed by a concurrent ingest of the
-- same lane (which holds the same lock while it decides whether its row is the head). Announces
-- each promotion on the worker wake-up channel ("promoted": the live stream ignores it).
CREATE FUNCTION event_queue_promote(lanes text[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  lane text;
  head record;
  promoted integer := 0;
BEGIN
  PERFORM event_queue_lock_lanes(lanes);
  FOR lane IN SELECT DISTINCT l FROM unnest(lanes) AS l WHERE l IS NOT NULL ORDER BY 1 LOOP
    SELECT q.event_id, q.run_at, q.blocked_at INTO head
    FROM event_queue q WHERE q.ordering_key = lane ORDER BY q.lane_pos LIMIT 1;
    IF FOUND AND head.run_at = 'infinity' AND head.blocked_at IS NULL THEN
      UPDATE event_queue SET run_at = now() WHERE event_id = head.event_id;
      promoted := promoted + 1;
      PERFORM pg_notify('webhook_events', json_build_object(
        'id', e.id, 'source', left(e.source, 200), 'topic', left(e.topic, 200), 'status', e.status,
        'attempts', e.attempts, 'due', true, 'promoted', true)::text)
      FROM webhook_events e WHERE e.id = head.event_id;
    END IF;
  END LOOP;
  RETURN promoted;
END;
$$;

-- A paused source's queued events are parked out of the claim's range: run_at 'infinity', their
-- own run_at kept in parked_run_at and given back on resume (src/store/queue-parking.ts). The
-- claim walks the due index in run_at order and skipped a paused source's due events one by one
-- (~0.3 µs each): 59-74 ms per claim with 200,000 of them ahead (2026-12-04,
-- bench/sql/queue-source-cost.ts), paid by every claim of every worker while the pause lasted.
ALTER TABLE "event_queue" ADD COLUMN IF NOT EXISTS "parked_run_at" timestamptz;
--> statement-breakpoint
-- Only parked rows are in it: resume and delete find a source's rows by it, and the operators'
-- due counts add the parked ones (still due as far as they are concerned) from it.
CREATE INDEX IF NOT EXISTS "event_queue_parked_idx" ON "event_queue" ("source", "parked_run_at")
  WHERE "parked_run_at" IS NOT NULL;
--> statement-breakpoint
-- Sources paused before the upgrade: park what they hold now (as a pause does).
UPDATE "event_queue" SET "parked_run_at" = "run_at", "run_at" = 'infinity'
WHERE "claim_token" IS NULL AND "run_at" <> 'infinity'
  AND "source" IN (SELECT "name" FROM "sources" WHERE "paused");
--> statement-breakpoint
-- A parked lane head is not promoted: it is due when its source is resumed (its run_at comes back
-- from parked_run_at). Promoting it (a replay or skip in its lane calls this) made it due while
-- paused, woke the workers for nothing and lost its own run_at to the next claim's parking.
-- Otherwise the function is 0024's.
CREATE OR REPLACE FUNCTION event_queue_promote(lanes text[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  lane text;
  head record;
  promoted integer := 0;
BEGIN
  PERFORM event_queue_lock_lanes(lanes);
  FOR lane IN SELECT DISTINCT l FROM unnest(lanes) AS l WHERE l IS NOT NULL ORDER BY 1 LOOP
    SELECT q.event_id, q.received_at, q.run_at, q.blocked_at, q.parked_run_at INTO head
    FROM event_queue q WHERE q.ordering_key = lane ORDER BY q.lane_pos LIMIT 1;
    IF FOUND AND head.run_at = 'infinity' AND head.blocked_at IS NULL AND head.parked_run_at IS NULL THEN
      UPDATE event_queue SET run_at = now() WHERE event_id = head.event_id;
      promoted := promoted + 1;
      PERFORM pg_notify('webhook_events', json_build_object(
        'id', e.id, 'source', left(e.source, 200), 'topic', left(e.topic, 200), 'status', e.status,
        'attempts', e.attempts, 'due', true, 'promoted', true)::text)
      FROM webhook_events e WHERE e.id = head.event_id AND e.received_at = head.received_at;
    END IF;
  END LOOP;
  RETURN promoted;
END;
$$;

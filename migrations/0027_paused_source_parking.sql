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

-- The hot queue (docs/adr/0007-hot-queue-table.md): one small row per event that is still to be
-- processed (due, scheduled for a retry, or claimed), deleted when the event completes or fails for
-- good. The worker claims, heart-beats and recovers leases here; webhook_events keeps the payload
-- and the status the ops views show, and is only touched by primary key on the hot path.
-- fillfactor 70 leaves room on each page so that claims and heartbeats (which change no indexed
-- column) are HOT updates.
CREATE TABLE "event_queue" (
	"event_id" bigint PRIMARY KEY NOT NULL REFERENCES "webhook_events"("id") ON DELETE cascade,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_at" timestamp with time zone,
	"claim_token" uuid,
	"attempt_id" bigint
) WITH (fillfactor = 70);--> statement-breakpoint
CREATE INDEX "event_queue_run_at_idx" ON "event_queue" USING btree ("run_at","event_id");--> statement-breakpoint
-- Convert an existing database: every event not yet finished gets its queue row, claimed ones with
-- their lease and the attempt-log row that is running for them.
INSERT INTO "event_queue" ("event_id", "run_at", "locked_by", "locked_at", "claim_token", "attempt_id")
SELECT e."id", e."next_attempt_at", e."locked_by", e."locked_at", e."claim_token",
       (SELECT max(p."id") FROM "processing_log" p WHERE p."event_id" = e."id" AND p."outcome" = 'running')
FROM "webhook_events" e
WHERE e."status" IN ('received', 'processing');--> statement-breakpoint
-- The queue replaces these: they only served the claim and lease recovery, and every claim and
-- outcome added entries to them that stayed behind as dead index entries until a vacuum.
DROP INDEX IF EXISTS "webhook_events_due_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "webhook_events_processing_idx";

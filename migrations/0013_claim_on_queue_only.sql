-- Claims live on the hot queue only (docs/adr/0007-hot-queue-table.md, "Claims without touching
-- the archive"): claiming no longer rewrites the event's archive row (a 1.5 KB row copied, and an
-- entry added to each of its five indexes, per claim). The queue row carries the attempt number of
-- its claim; the event gets it, with its outcome, in the one update that finishes the attempt.
-- Measured with pg_stat_statements under the bench's end-to-end burst: the claim statement wrote
-- 2.9 KB of WAL per event, most of it that row copy.
ALTER TABLE "event_queue" ADD COLUMN "attempt" integer;--> statement-breakpoint
-- Claims taken by the previous release: the event already counted the attempt when it was claimed.
UPDATE "event_queue" q SET "attempt" = e."attempts"
FROM "webhook_events" e
WHERE e."id" = q."event_id" AND q."claim_token" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_events" DROP COLUMN "locked_by";--> statement-breakpoint
ALTER TABLE "webhook_events" DROP COLUMN "locked_at";--> statement-breakpoint
ALTER TABLE "webhook_events" DROP COLUMN "claim_token";

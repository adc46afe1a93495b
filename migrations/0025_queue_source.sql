-- The hot queue row carries its event's source. Counting due events per source (the backlog
-- series every minute, a backlog_age alert with a source every 5 s) and the claim's test for a
-- paused source read it from the archive by primary key, one partition probe per queued event:
-- with 300,000 due events and 1 M of history that count took 2.9-3.4 s against 114-127 ms from the
-- queue alone (2026-12-04), and it grows with the backlog, which is when an operator needs it.
ALTER TABLE "event_queue" ADD COLUMN "source" text;
--> statement-breakpoint
UPDATE "event_queue" q SET "source" = e.source
FROM "webhook_events" e WHERE e.id = q.event_id AND e.received_at = q.received_at;
--> statement-breakpoint
-- A queue row without its archive row cannot be claimed anyway (the claim reads the event from the
-- archive); none should exist, and an empty source keeps the upgrade from failing on one.
UPDATE "event_queue" SET "source" = '' WHERE "source" IS NULL;
--> statement-breakpoint
ALTER TABLE "event_queue" ALTER COLUMN "source" SET NOT NULL;

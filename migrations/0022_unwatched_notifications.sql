-- Notifications nobody acts on are not sent while nobody watches the live stream
-- (src/ops/stream-watchers.ts). Workers act only on events that are due; the live stream is the only
-- listener of everything else: completions, failures, retries not yet due, and the arrivals of
-- events the inserting process claimed for its own worker (a hand-off, whose archive row is due
-- again only after the lease). A process with live-stream viewers keeps a row here (refreshed,
-- expiring when its process is gone); the worker's outcome statement and the hand-off insert set
-- webhook_gateway.unwatched to 'on', for their own transaction, when no row is live, and the
-- triggers' WHEN then skips every row that is not due. Everything else (replays, lease recovery,
-- manual SQL, other processes' inserts) is announced as before.
CREATE TABLE "stream_watchers" (
	"process" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);--> statement-breakpoint
DROP TRIGGER "webhook_events_notify_update" ON "webhook_events";--> statement-breakpoint
CREATE TRIGGER webhook_events_notify_update AFTER UPDATE OF status ON webhook_events
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'processing'
    AND (current_setting('webhook_gateway.unwatched', true) IS DISTINCT FROM 'on'
         OR (NEW.status = 'received' AND NEW.next_attempt_at <= now())))
  EXECUTE FUNCTION webhook_events_notify();--> statement-breakpoint
DROP TRIGGER "webhook_events_notify_insert" ON "webhook_events";--> statement-breakpoint
CREATE TRIGGER webhook_events_notify_insert AFTER INSERT ON webhook_events
  FOR EACH ROW WHEN (current_setting('webhook_gateway.unwatched', true) IS DISTINCT FROM 'on'
                     OR (NEW.status = 'received' AND NEW.next_attempt_at <= now()))
  EXECUTE FUNCTION webhook_events_notify();

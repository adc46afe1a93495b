-- Outcomes are announced only while someone watches the live stream (src/ops/stream-watchers.ts).
-- The live stream is the only listener of a completion or failure; workers need only events that
-- are due. A process with live-stream viewers keeps a row here (refreshed, expiring when its
-- process is gone); the worker's outcome statement sets webhook_gateway.quiet_outcomes to 'on',
-- for its own transaction, when no row is live. Every other status change (replays, lease
-- recovery, manual SQL) and every outcome that makes an event due again is announced as before.
CREATE TABLE "stream_watchers" (
	"process" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);--> statement-breakpoint
DROP TRIGGER "webhook_events_notify_update" ON "webhook_events";--> statement-breakpoint
CREATE TRIGGER webhook_events_notify_update AFTER UPDATE OF status ON webhook_events
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'processing'
    AND (current_setting('webhook_gateway.quiet_outcomes', true) IS DISTINCT FROM 'on'
         OR (NEW.status = 'received' AND NEW.next_attempt_at <= now())))
  EXECUTE FUNCTION webhook_events_notify();

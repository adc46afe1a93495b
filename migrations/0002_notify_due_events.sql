-- Announce event state changes on the "webhook_events" channel. Notifications are delivered at
-- commit, so a listener never hears of a row it cannot see yet. Workers wake on due events; the
-- live stream shows arrivals and outcomes. Claims ('processing') are not announced: they are the
-- busiest transition and nobody needs them live. Topic is truncated: NOTIFY payloads max 8000 bytes.
CREATE FUNCTION webhook_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('webhook_events', json_build_object(
    'id', NEW.id,
    'source', left(NEW.source, 200),
    'topic', left(NEW.topic, 200),
    'status', NEW.status,
    'attempts', NEW.attempts,
    'due', NEW.status = 'received' AND NEW.next_attempt_at <= now()
  )::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER webhook_events_notify_insert AFTER INSERT ON webhook_events
  FOR EACH ROW EXECUTE FUNCTION webhook_events_notify();
--> statement-breakpoint
CREATE TRIGGER webhook_events_notify_update AFTER UPDATE OF status ON webhook_events
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'processing')
  EXECUTE FUNCTION webhook_events_notify();

-- The history tables partitioned by day (docs/adr/0008-partitioned-history.md): webhook_events by
-- received_at, processing_log and delivery_attempts by started_at, so retention drops a day as one
-- partition instead of deleting its rows one by one. The exactly-once key (source, webhook_id)
-- cannot be a unique constraint of a partitioned table (it would have to include received_at), so
-- it moves to event_keys, written by the same statement as the event. Foreign keys to
-- webhook_events go too (they would need the partition key); the statements that delete keep the
-- dependants in step instead (src/store/retention.ts).
--
-- The conversion renames the old tables, creates the partitioned ones with the same columns
-- (whatever columns earlier migrations added), copies the rows with their ids, carries the
-- identity sequences on, and drops the old tables.

-- Creates the day partition of `parent` holding `day` (UTC) unless it exists. Rows of that day
-- already in the default partition (inserted while no partition covered it) are moved into it, so
-- creating a partition never fails because of them. Serialised by an advisory lock: two gateways
-- creating partitions ahead at once do not race.
CREATE FUNCTION gateway_ensure_partition(parent text, day date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  key text := CASE parent WHEN 'webhook_events' THEN 'received_at' ELSE 'started_at' END;
  name text := parent || '_p' || to_char(day, 'YYYYMMDD');
  lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
  waiting boolean;
BEGIN
  IF parent NOT IN ('webhook_events', 'processing_log', 'delivery_attempts') THEN
    RAISE EXCEPTION 'not a partitioned history table: %', parent;
  END IF;
  PERFORM pg_advisory_xact_lock(7245301119);
  IF to_regclass(name) IS NOT NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('SELECT exists (SELECT 1 FROM %I WHERE %I >= $1 AND %I < $2)', parent || '_default', key, key)
    INTO waiting USING lo, hi;
  IF waiting THEN
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name, parent);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved',
                   parent || '_default', key, key, name) USING lo, hi;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, name, lo, hi);
  ELSE
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', name, parent, lo, hi);
  END IF;
  RETURN true;
END $$;
--> statement-breakpoint
-- The partitions of today and the next `days` days, of the three tables; returns how many it made.
CREATE FUNCTION gateway_partitions_ahead(days integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  made integer := 0;
  parent text;
  day date;
BEGIN
  FOREACH parent IN ARRAY ARRAY['webhook_events', 'processing_log', 'delivery_attempts'] LOOP
    FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date + days, interval '1 day')::date LOOP
      IF gateway_ensure_partition(parent, day) THEN
        made := made + 1;
      END IF;
    END LOOP;
  END LOOP;
  RETURN made;
END $$;
--> statement-breakpoint
ALTER TABLE "webhook_events" RENAME TO "webhook_events_old";--> statement-breakpoint
ALTER SEQUENCE "webhook_events_id_seq" RENAME TO "webhook_events_old_id_seq";--> statement-breakpoint
ALTER TABLE "processing_log" RENAME TO "processing_log_old";--> statement-breakpoint
ALTER SEQUENCE "processing_log_id_seq" RENAME TO "processing_log_old_id_seq";--> statement-breakpoint
ALTER TABLE "delivery_attempts" RENAME TO "delivery_attempts_old";--> statement-breakpoint
ALTER SEQUENCE "delivery_attempts_id_seq" RENAME TO "delivery_attempts_old_id_seq";--> statement-breakpoint
-- What hangs on the old tables (indexes, constraints, the notify triggers of 0002, the foreign keys
-- of other tables) goes with them below and is made again on the new ones.
CREATE TABLE "webhook_events" (LIKE "webhook_events_old" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)
  PARTITION BY RANGE ("received_at");--> statement-breakpoint
CREATE TABLE "processing_log" (LIKE "processing_log_old" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)
  PARTITION BY RANGE ("started_at");--> statement-breakpoint
CREATE TABLE "delivery_attempts" (LIKE "delivery_attempts_old" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)
  PARTITION BY RANGE ("started_at");--> statement-breakpoint
CREATE TABLE "webhook_events_default" PARTITION OF "webhook_events" DEFAULT;--> statement-breakpoint
CREATE TABLE "processing_log_default" PARTITION OF "processing_log" DEFAULT;--> statement-breakpoint
CREATE TABLE "delivery_attempts_default" PARTITION OF "delivery_attempts" DEFAULT;--> statement-breakpoint
-- A partition for every day that holds rows, and for today and the week ahead.
DO $$
DECLARE
  day date;
BEGIN
  FOR day IN SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date FROM webhook_events_old LOOP
    PERFORM gateway_ensure_partition('webhook_events', day);
  END LOOP;
  FOR day IN SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date FROM processing_log_old LOOP
    PERFORM gateway_ensure_partition('processing_log', day);
  END LOOP;
  FOR day IN SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date FROM delivery_attempts_old LOOP
    PERFORM gateway_ensure_partition('delivery_attempts', day);
  END LOOP;
  PERFORM gateway_partitions_ahead(7);
END $$;
--> statement-breakpoint
INSERT INTO "webhook_events" OVERRIDING SYSTEM VALUE SELECT * FROM "webhook_events_old";--> statement-breakpoint
INSERT INTO "processing_log" OVERRIDING SYSTEM VALUE SELECT * FROM "processing_log_old";--> statement-breakpoint
INSERT INTO "delivery_attempts" OVERRIDING SYSTEM VALUE SELECT * FROM "delivery_attempts_old";--> statement-breakpoint
-- New rows continue the old ids.
SELECT setval('webhook_events_id_seq', last_value, is_called) FROM "webhook_events_old_id_seq";--> statement-breakpoint
SELECT setval('processing_log_id_seq', last_value, is_called) FROM "processing_log_old_id_seq";--> statement-breakpoint
SELECT setval('delivery_attempts_id_seq', last_value, is_called) FROM "delivery_attempts_old_id_seq";--> statement-breakpoint
-- The exactly-once key. content_hash is what tells a duplicate from a conflict (rows from before
-- 0006 have none: their body is hashed now), so copies are settled without reading the archive.
-- received_at finds the keys of a dropped day.
CREATE TABLE "event_keys" (
	"source" text NOT NULL,
	"webhook_id" text NOT NULL,
	"event_id" bigint NOT NULL,
	"content_hash" bytea NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	CONSTRAINT "event_keys_pkey" PRIMARY KEY("source","webhook_id")
);--> statement-breakpoint
INSERT INTO "event_keys" (source, webhook_id, event_id, content_hash, received_at)
SELECT source, webhook_id, id, coalesce(content_hash, sha256(body)), received_at FROM "webhook_events_old";--> statement-breakpoint
CREATE INDEX "event_keys_received_idx" ON "event_keys" USING btree ("received_at");--> statement-breakpoint
-- The queue row carries the partition keys of what the worker touches by id: the event's
-- received_at and its current attempt's started_at, so the claim, outcome, release and lease
-- recovery name them and PostgreSQL visits one partition instead of every partition's index.
ALTER TABLE "event_queue" ADD COLUMN "received_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "event_queue" ADD COLUMN "attempt_started_at" timestamp with time zone;--> statement-breakpoint
UPDATE "event_queue" q SET "received_at" = e.received_at FROM "webhook_events_old" e WHERE e.id = q.event_id;--> statement-breakpoint
UPDATE "event_queue" q SET "attempt_started_at" = p.started_at FROM "processing_log_old" p WHERE p.id = q.attempt_id;--> statement-breakpoint
-- Every queue row had its event (foreign key, on delete cascade until now).
ALTER TABLE "event_queue" ALTER COLUMN "received_at" SET NOT NULL;--> statement-breakpoint
-- CASCADE drops the foreign keys of event_queue, event_conflicts and system_log with them.
DROP TABLE "delivery_attempts_old" CASCADE;--> statement-breakpoint
DROP TABLE "processing_log_old" CASCADE;--> statement-breakpoint
DROP TABLE "webhook_events_old" CASCADE;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id", "received_at");--> statement-breakpoint
CREATE INDEX "webhook_events_source_id_idx" ON "webhook_events" USING btree ("source","id");--> statement-breakpoint
CREATE INDEX "webhook_events_status_id_idx" ON "webhook_events" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "webhook_events_failed_processed_idx" ON "webhook_events" USING btree ("processed_at") WHERE "status" = 'failed';--> statement-breakpoint
-- Retention keeps a day whose events were replayed within the window (replays are rare: tiny index).
CREATE INDEX "webhook_events_replayed_idx" ON "webhook_events" USING btree ("replayed_at") WHERE "replayed_at" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "processing_log" ADD CONSTRAINT "processing_log_pkey" PRIMARY KEY ("id", "started_at");--> statement-breakpoint
CREATE INDEX "processing_log_event_idx" ON "processing_log" USING btree ("event_id","id");--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_pkey" PRIMARY KEY ("id", "started_at");--> statement-breakpoint
CREATE INDEX "delivery_attempts_event_idx" ON "delivery_attempts" USING btree ("event_id","id");--> statement-breakpoint
CREATE INDEX "delivery_attempts_started_idx" ON "delivery_attempts" USING btree ("started_at");--> statement-breakpoint
-- No longer unique (a unique index would have to include started_at): the one claim holder per
-- event records "delivered" at most once per destination (src/store/deliveries.ts).
CREATE INDEX "delivery_attempts_delivered_idx" ON "delivery_attempts" USING btree ("event_id","destination") WHERE "outcome" = 'delivered';--> statement-breakpoint
-- The live stream's and the workers' notifications (migration 0002), as before; row triggers of a
-- partitioned table apply to every partition, those created later too.
CREATE TRIGGER webhook_events_notify_insert AFTER INSERT ON webhook_events
  FOR EACH ROW EXECUTE FUNCTION webhook_events_notify();--> statement-breakpoint
CREATE TRIGGER webhook_events_notify_update AFTER UPDATE OF status ON webhook_events
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'processing')
  EXECUTE FUNCTION webhook_events_notify();

-- The day partitions of webhook_events get a row layout made for the one update every event gets
-- (the worker's outcome: status, attempts, processed_at, last_error) — docs/performance.md, *Where
-- the WAL goes*. PostgreSQL logs an update whose new row version lands on the same page as the old
-- one with only the bytes between the unchanged prefix and the unchanged suffix of the row
-- (heapam.c, log_heap_update). Two things make that happen for the archive row:
--   * headers and body, written once and never changed, are the partition's last columns, so they
--     are in the unchanged suffix (before: body and headers sat between status and attempts, and
--     every outcome logged them again);
--   * fillfactor 50 leaves room on each page for the new versions of the rows inserted there (a
--     1.5 KB body makes a ~1.9 KB row: two rows per page, then their two new versions).
-- Measured with 20,000 such rows inserted 25 at a time and updated as the outcome does: 4,633 bytes
-- of WAL per event with the old layout, 4,478 with fillfactor 50 alone, 4,641 with the columns moved
-- alone, 2,652 with both. The table holds as many pages either way (78 MB): without a vacuum, the
-- new versions took pages of their own before. Rows with a body over ~2 KB are compressed or moved
-- to TOAST, and an update then copies a pointer; this matters for the many small webhooks.
--
-- A partition may order its columns differently from its parent: PostgreSQL maps them by name.
-- processing_log and delivery_attempts are written once and keep the parent's layout.
CREATE OR REPLACE FUNCTION gateway_ensure_partition(parent text, day date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  key text := CASE parent WHEN 'webhook_events' THEN 'received_at' ELSE 'started_at' END;
  name text := parent || '_p' || to_char(day, 'YYYYMMDD');
  lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
  columns text;
  definitions text;
BEGIN
  IF parent NOT IN ('webhook_events', 'processing_log', 'delivery_attempts') THEN
    RAISE EXCEPTION 'not a partitioned history table: %', parent;
  END IF;
  PERFORM pg_advisory_xact_lock(7245301119);
  IF to_regclass(name) IS NOT NULL THEN
    RETURN false;
  END IF;
  -- The parent's columns (whatever later migrations add), headers and body last.
  SELECT string_agg(format('%I', a.attname), ', '
                    ORDER BY a.attname IN ('headers', 'body'), a.attname = 'body', a.attnum),
         string_agg(format('%I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                           CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                           coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')),
                    ', ' ORDER BY a.attname IN ('headers', 'body'), a.attname = 'body', a.attnum)
    INTO columns, definitions
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid = parent::regclass AND a.attnum > 0 AND NOT a.attisdropped;
  -- ATTACH PARTITION requires the parent's CHECK constraints on the partition.
  SELECT definitions || coalesce(string_agg(format(', CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)), ''), '')
    INTO definitions
    FROM pg_constraint WHERE conrelid = parent::regclass AND contype = 'c';
  EXECUTE format('CREATE TABLE %I (%s)%s', name, definitions,
                 CASE parent WHEN 'webhook_events' THEN ' WITH (fillfactor = 50)' ELSE '' END);
  -- Rows of that day that landed in the default partition meanwhile move into it.
  EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I (%s) SELECT %s FROM moved',
                 parent || '_default', key, key, name, columns, columns) USING lo, hi;
  EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, name, lo, hi);
  RETURN true;
END $$;
--> statement-breakpoint
-- The day partitions made ahead with the old layout and still empty are made again with the new
-- one; a day that holds events keeps its layout (rewriting it would hold ingest up) and leaves with
-- retention. The lock keeps ingest from adding a row to a day between the check and the drop.
DO $$
DECLARE
  part text;
  has_rows boolean;
BEGIN
  LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE;
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'webhook_events'::regclass AND c.relname ~ '^webhook_events_p[0-9]{8}$'
  LOOP
    EXECUTE format('SELECT exists (SELECT 1 FROM %I)', part) INTO has_rows;
    IF NOT has_rows THEN
      EXECUTE format('DROP TABLE %I', part);
      PERFORM gateway_ensure_partition('webhook_events', to_date(substr(part, 17), 'YYYYMMDD'));
    END IF;
  END LOOP;
END $$;

-- Creating a day partition while ingest adds rows for that day to the default partition (the
-- partition ahead was missing: a gateway down for over a week, or runs that could not get their
-- lock) failed: the rows inserted between the move out of the default partition and the ATTACH
-- violated the default partition's new constraint. gateway_ensure_partition (as migration 0023
-- left it) now locks the default partition before moving its rows, so those inserts wait for the
-- ATTACH and then land in the new partition.
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
  -- Rows of that day that landed in the default partition meanwhile move into it. The default
  -- partition is locked first (ATTACH below takes this lock anyway): a row an ingest added to it for
  -- that day between the move and the ATTACH made the ATTACH fail ("updated partition constraint
  -- for default partition would be violated"), and with it every partition of the run, again at
  -- every run while ingest went on (test/partition-create-race.test.ts).
  EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', parent || '_default');
  EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I (%s) SELECT %s FROM moved',
                 parent || '_default', key, key, name, columns, columns) USING lo, hi;
  EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, name, lo, hi);
  RETURN true;
END $$;

-- The path and query string each event was received at (src/ingest/request-target.ts), so
-- destination filters on `path` and `query` match in real deliveries. The query is stored without
-- the parameters a source verifies with and without credential-like ones, and cut to 2 KiB.
-- NULL on events stored before this migration (filters on path/query see nothing there).
ALTER TABLE webhook_events ADD COLUMN request_target text;

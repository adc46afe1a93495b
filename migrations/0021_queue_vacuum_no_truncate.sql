-- The hot queue empties and refills all day. Truncating its empty tail after a drained backlog
-- takes an ACCESS EXCLUSIVE lock that stops every claim and outcome while VACUUM scans back over
-- the tail; the next backlog would reuse those pages anyway. The gateway's own VACUUM passes
-- TRUNCATE false (src/worker/queue-sql.ts maintain()); this keeps autovacuum from doing it too.
ALTER TABLE "event_queue" SET (vacuum_truncate = false);

-- A destination's health (GET /api/destinations, the UI's Destinations page, `destinations list`)
-- counted its deliveries over every day kept and ranked all of them to find its last five: 4.1-6.9 s
-- with 3 M delivery attempts (2026-12-04), growing with history. With this index the counts cover
-- the last 24 hours of one destination and the last deliveries are read newest first, five rows.
CREATE INDEX IF NOT EXISTS "delivery_attempts_destination_idx" ON "delivery_attempts" ("destination", "started_at");

-- Optimistic concurrency for alert rules and channels, as sources and destinations have (0009):
-- `version` backs ETag / If-Match (412 version_mismatch on a stale one); every change bumps it in
-- the statement that makes it. Rows stored before this migration start at version 1. A constant
-- default: no table rewrite (PostgreSQL 11+), the tables hold a handful of rows anyway.
ALTER TABLE alert_rules ADD COLUMN version integer NOT NULL DEFAULT 1;--> statement-breakpoint
ALTER TABLE alert_channels ADD COLUMN version integer NOT NULL DEFAULT 1;

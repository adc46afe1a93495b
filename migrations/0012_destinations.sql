-- Destinations managed at runtime (src/control/destination-*.ts): HTTP endpoints that events of the
-- sources attached to them are forwarded to. The signing secret and the headers (whose values may be
-- credentials) are sealed together as one AES-256-GCM ciphertext under the master key named by
-- key_id (src/control/crypto.ts); only the secret's fingerprint and the header names are in clear.
CREATE TABLE destinations (
  name text PRIMARY KEY,
  url text NOT NULL,
  timeout_ms integer NOT NULL DEFAULT 10000,
  header_names jsonb NOT NULL DEFAULT '[]',
  key_id text NOT NULL,
  iv bytea NOT NULL,
  tag bytea NOT NULL,
  ciphertext bytea NOT NULL,
  fingerprint text NOT NULL,
  secret_created_at timestamptz NOT NULL DEFAULT now(),
  paused boolean NOT NULL DEFAULT false,
  origin text NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'apply')),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- Which sources' events go to which destination. `source` is not a foreign key: file and env
-- sources are attached too, and they have no row in "sources".
CREATE TABLE destination_sources (
  destination text NOT NULL REFERENCES destinations(name) ON DELETE CASCADE,
  source text NOT NULL,
  PRIMARY KEY (destination, source)
);
--> statement-breakpoint
-- An event whose attempt found some of its destinations paused waits here, not counted as an
-- attempt, with the names of those destinations; resuming one of them makes its events due again.
ALTER TABLE event_queue ADD COLUMN held_for jsonb;
--> statement-breakpoint
CREATE INDEX event_queue_held_idx ON event_queue (event_id) WHERE held_for IS NOT NULL;
--> statement-breakpoint
CREATE TRIGGER destinations_notify AFTER INSERT OR UPDATE OR DELETE ON destinations
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_control_notify();
--> statement-breakpoint
CREATE TRIGGER destination_sources_notify AFTER INSERT OR UPDATE OR DELETE ON destination_sources
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_control_notify();
